package goruntime

import (
	"fmt"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestRunnerCalls: with a finalizer (or cleanup) stuck, the call read from
// the runner's frame names the stuck function, stays the same from read to
// read, sits where the unwinder finds the runner's frame, and the queue
// blocks add up to the runtime's queue (the runtime's counters count a
// block's finished finalizers until the whole block is done, so they may be
// ahead by up to one block).
func TestRunnerCalls(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		for _, mode := range []string{"chan", "busy", "cleanup"} {
			t.Run(v.String()+"/"+mode, func(t *testing.T) {
				t.Parallel()
				tg, r, blocked := startStuck(t, v, mode)
				if mode == "cleanup" {
					checkCleanupRunner(t, r)
					return
				}
				st, err := r.Finalizers()
				if err != nil {
					t.Fatal(err)
				}
				c := st.Call
				if c == nil {
					t.Fatalf("no finalizer call: %s", st.CallErr)
				}
				if fr := r.b.Frames(r.link(c.PC), false); len(fr) == 0 || fr[len(fr)-1].Func != "main.(*stuckConn).Close" {
					t.Errorf("call's pc %#x is %v, want main.(*stuckConn).Close", c.PC, fr)
				}
				if c.Args[0] == 0 || c.Block == 0 || c.Remaining == 0 || c.Chain < int64(c.Remaining) {
					t.Errorf("call %+v: want the object, its block, a count and the chain", c)
				}
				st2, err := r.Finalizers()
				if err != nil || st2.Call == nil || *st2.Call != *c && st2.Call.Chain == c.Chain {
					t.Errorf("second read %+v (%v), first %+v: want the same call", st2.Call, err, c)
				}
				if mode == "chan" {
					// The frame found from stktopsp is the unwinder's.
					sp, _, err := r.runnerFrameSP(st.Goroutine, r.b.Probes.FinalizerCall.Call.Addr)
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, f := range st.Goroutine.Stack {
						if f.Func == "runtime.runFinalizers" && !f.Inlined {
							found = true
							if f.SP != sp {
								t.Errorf("runner frame at %#x from stktopsp, unwinder says %#x", sp, f.SP)
							}
						}
					}
					if !found {
						t.Errorf("no runFinalizers frame in %v", fmtStack(st.Goroutine.Stack))
					}
				}
				// Between two rounds the queue stands still: count its blocks then.
				var pending Uint
				var qs FinalizerState
				sampleBetweenRounds(t, tg, blocked, 2, func() (err error) {
					if qs, err = r.Finalizers(); err != nil {
						return err
					}
					pending = r.pendingFinalizers(qs.Call)
					return nil
				}, func(gt) error {
					if !pending.Known || !qs.QueueLength.Known {
						t.Fatalf("pending %v, queue length %v", pending, qs.QueueLength)
					}
					if q := qs.QueueLength.V; pending.V > q || q > pending.V+101 {
						return fmt.Errorf("queue blocks hold %d finalizers, the runtime counts %d", pending.V, q)
					}
					return nil
				})
				t.Logf("call %+v; blocks hold %d, runtime counts %d", c, pending.V, qs.QueueLength.V)
			})
		}
	}
}

func checkCleanupRunner(t *testing.T, r *Runtime) {
	t.Helper()
	// BLOCKED is printed just before the receive that parks the cleanup
	// goroutine: on a loaded machine it may still be running (no stack to
	// unwind from its saved registers) when the line is read.
	var cs CleanupState
	var runners []CleanupRunner
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if cs, err = r.Cleanups(); err != nil {
			t.Fatal(err)
		}
		if runners, err = r.CleanupRunners(cs.Goroutines.V); err != nil {
			t.Fatal(err)
		}
		if len(runners) == 1 && hasFrame(runners[0].Goroutine.Stack, "main.cleanup") || time.Now().After(deadline) {
			break
		}
	}
	if len(runners) != 1 {
		t.Fatalf("%d running cleanup goroutines (queue says %v running of %v): %+v", len(runners), cs.Running, cs.Goroutines, runners)
	}
	c := runners[0]
	if c.Call == nil {
		t.Fatalf("no cleanup call: %s", c.CallErr)
	}
	if !hasFrame(c.Goroutine.Stack, "main.cleanup") {
		t.Errorf("cleanup goroutine stack %s", fmtStack(c.Goroutine.Stack))
	}
	again, err := r.CleanupRunners(cs.Goroutines.V)
	if err != nil || len(again) != 1 || again[0].Call == nil || *again[0].Call != *c.Call {
		t.Errorf("second read %+v (%v), first %+v", again, err, c.Call)
	}
	t.Logf("cleanup call %+v", c.Call)
}
