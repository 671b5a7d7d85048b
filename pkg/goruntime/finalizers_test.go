package goruntime

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// modes of testdata/targets/finstuck and what the stuck goroutine waits on.
var waitReasons = map[string]string{"chan": "chan receive", "mutex": "sync.Mutex.Lock", "cleanup": "chan receive"}

func monotonicNow(t *testing.T) int64 {
	now, err := MonotonicNow()
	if err != nil {
		t.Fatal(err)
	}
	return now
}

// sampleBetweenRounds calls read right after each of n GT lines printed
// after line from, and passes the GT values to check. The target holds its
// counts still for an -interval after a GT line, but on a loaded machine the
// read may still straddle the next round: a mismatching read is retried at a
// later GT line, up to maxStraddles times, and only then is check's error
// reported; a read that ends after the next ROUND line was seen is not
// checked at all.
func sampleBetweenRounds(t *testing.T, tg *target, from, n int, read func() error, check func(gt) error) {
	t.Helper()
	const maxStraddles = 10
	var last error
	for got, missed := 0, 0; got < n; {
		line, i := tg.waitLine(t, "GT ", from, 15*time.Second)
		from = i + 1
		if err := read(); err != nil {
			t.Fatal(err)
		}
		if tg.nlines() > i+1 { // "ROUND" printed: the sample may mix rounds
			continue
		}
		if err := check(parseGT(t, line)); err != nil {
			if missed++; missed > maxStraddles {
				t.Fatalf("%v (and %d earlier reads mismatched too)", err, maxStraddles)
			}
			last = err
			continue
		}
		got++
	}
	if last != nil {
		t.Logf("reads retried after a mismatch (the next round had begun): last %v", last)
	}
}

func TestFinalizerStuck(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE, testutil.CGO) {
		for _, mode := range []string{"chan", "mutex", "busy"} {
			t.Run(v.String()+"/"+mode, func(t *testing.T) {
				t.Parallel()
				tg, r, blocked := startStuck(t, v, mode)
				blockedAt := monotonicNow(t)
				var st FinalizerState
				sampleBetweenRounds(t, tg, blocked, 2, func() (err error) {
					st, err = r.Finalizers()
					return err
				}, func(want gt) error {
					if st.Queued.V != want.queued || st.Executed.V != want.executed || !st.QueueLength.Known || !st.Consistent ||
						st.QueueLength.V != want.queued-want.executed {
						return fmt.Errorf("queued %v executed %v length %v; runtime/metrics queued=%d executed=%d",
							st.Queued, st.Executed, st.QueueLength, want.queued, want.executed)
					}
					return nil
				})
				if !st.Created.V || !st.Running.V {
					t.Errorf("fingStatus %v: created %v running %v", st.Status, st.Created, st.Running)
				}
				if mode == "busy" {
					checkBusy(t, r, tg)
					return
				}
				g := st.Goroutine
				if g == nil {
					t.Fatalf("no finalizer goroutine: %s", st.GoroutineErr)
				}
				if g.StatusName != "waiting" || g.WaitReason.V != waitReasons[mode] {
					t.Errorf("status %s, wait reason %v", g.StatusName, g.WaitReason)
				}
				// Several GCs ran since it blocked: waitsince is the start of
				// the first one, after BLOCKED was printed.
				now := monotonicNow(t)
				if d, ok := g.Blocked(now); !ok || d > time.Duration(now-blockedAt)+time.Second {
					t.Errorf("waitsince %v, now %d, BLOCKED seen at %d", g.WaitSince, now, blockedAt)
				}
				if g.StackErr != "" || len(g.Stack) == 0 || g.Stack[len(g.Stack)-1].Func != "runtime.goexit" {
					t.Fatalf("stack %+v: %s", g.Stack, g.StackErr)
				}
				if !hasFrame(g.Stack, "main.(*stuckConn).Close") {
					t.Errorf("no main.(*stuckConn).Close frame")
				}
				if mode == "mutex" && !hasFrame(g.Stack, "sync.(*Mutex).Lock") {
					t.Errorf("no inlined sync.(*Mutex).Lock frame")
				}
				compareWithDump(t, g, tg.quit(t))
			})
		}
	}
}

func hasFrame(st []Frame, fn string) bool {
	for _, f := range st {
		if f.Func == fn {
			return true
		}
	}
	return false
}

// checkBusy: the finalizer spins, so its goroutine is running (sched.sp is
// 0): no stack, but the thread it runs on. While GC preempts it for a stack
// scan it is briefly runnable with a stack ending in asyncPreempt; when such
// a sample is caught, it must match the runtime's dump (taken at another
// moment: only the interrupted pc may differ).
func checkBusy(t *testing.T, r *Runtime, tg *target) {
	t.Helper()
	st, err := r.Finalizers()
	if err != nil || st.Goroutine == nil {
		t.Fatalf("finalizer goroutine: %v %s", err, st.GoroutineErr)
	}
	addr := st.Goroutine.Addr
	var running, stacked *Goroutine
	reads := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && (running == nil || stacked == nil); reads++ {
		g, err := r.Goroutine(addr)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case g.StatusName == "running" && running == nil:
			running = g
		case g.StatusName != "running" && g.Stack != nil && stacked == nil:
			stacked = g
		}
	}
	if running == nil {
		t.Fatal("finalizer goroutine never seen running")
	}
	g := running
	if g.Stack != nil || !strings.Contains(g.StackErr, "running on thread") || g.WaitReason.Known {
		t.Errorf("running goroutine: stack %+v (%s), wait reason %v", g.Stack, g.StackErr, g.WaitReason)
	}
	if !g.TID.Known {
		t.Fatalf("TID %v", g.TID)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/task/%d", tg.pid, g.TID.V)); err != nil {
		t.Errorf("TID %d is not a thread of pid %d: %v", g.TID.V, tg.pid, err)
	}
	d := parseDump(tg.quit(t))[g.Goid.V]
	if d == nil || (d.status != "running" && d.status != "runnable" && d.status != "preempted") {
		t.Fatalf("runtime dump of goroutine %d: %+v", g.Goid.V, d)
	}
	if stacked == nil {
		t.Logf("no preempted sample with a stack in %d reads", reads)
		return
	}
	t.Logf("preempted sample (%s) after up to %d reads: %s", stacked.StatusName, reads, fmtStack(stacked.Stack))
	if stacked.StackErr != "" {
		t.Fatalf("preempted stack: %s", stacked.StackErr)
	}
	if len(d.frames) == 0 {
		t.Logf("the runtime's dump has no stack for it (%s on another thread)", d.status)
		return
	}
	// Compare everything but the interrupted frame (with its inlined
	// frames), whose pc differs between the two moments: there only the
	// physical function must match.
	type group struct {
		fn, file string
		line     int
		inlined  bool
	}
	// The dump shows asyncPreempt frames when the goroutine was preempted,
	// and starts at the interrupted frame when it was running on the thread
	// that printed it.
	split := func(n int, get func(i int) group) (before, after []group, interrupted string) {
		i := 0
		for k := 0; k < n; k++ {
			if get(k).fn == "runtime.asyncPreempt" {
				for ; i <= k; i++ {
					before = append(before, get(i))
				}
				break
			}
		}
		for ; i < n && get(i).inlined; i++ {
		}
		if i < n {
			interrupted = get(i).fn
			i++
		}
		for ; i < n; i++ {
			after = append(after, get(i))
		}
		return before, after, interrupted
	}
	ob, oa, oi := split(len(stacked.Stack), func(i int) group {
		f := stacked.Stack[i]
		return group{f.PrintName(), f.File, f.Line, f.Inlined}
	})
	db, da, di := split(len(d.frames), func(i int) group {
		f := d.frames[i]
		return group{f.fn, f.file, f.line, f.inlined}
	})
	// The frames down to asyncPreempt are the preemption machinery at two
	// different moments (ours may still be in asyncPreempt2, the dump's
	// signal may land on asyncPreempt's first instruction): both must end
	// at runtime.asyncPreempt, their lines may differ.
	endsAtPreempt := func(g []group) bool { return len(g) > 0 && g[len(g)-1].fn == "runtime.asyncPreempt" }
	if !endsAtPreempt(ob) || (len(db) > 0 && !endsAtPreempt(db)) || fmt.Sprint(oa) != fmt.Sprint(da) || oi != di || oi == "" {
		t.Errorf("preempted stack %s\ndump %+v", fmtStack(stacked.Stack), d.frames)
	}
}

// compareWithDump checks our view of g against the runtime's own SIGQUIT
// dump frame by frame: function, file:line, +0x offset and frame SP.
func compareWithDump(t *testing.T, g *Goroutine, dump string) {
	t.Helper()
	d := parseDump(dump)[g.Goid.V]
	if d == nil {
		t.Fatalf("goroutine %d not in the dump:\n%s", g.Goid.V, dump)
	}
	if !strings.HasPrefix(d.status, g.WaitReason.V) {
		t.Errorf("dump status %q, ours %q", d.status, g.WaitReason.V)
	}
	if len(d.frames) != len(g.Stack) {
		t.Errorf("%d frames, dump %d:\nours: %s\ndump: %+v", len(g.Stack), len(d.frames), fmtStack(g.Stack), d.frames)
	}
	for i := 0; i < min(len(d.frames), len(g.Stack)); i++ {
		o, w := g.Stack[i], d.frames[i]
		name := o.PrintName()
		if name == "runtime.gopanic" {
			name = "panic"
		}
		if name != w.fn || o.File != w.file || o.Line != w.line || o.Inlined != w.inlined {
			t.Errorf("frame %d: %s %s:%d inlined=%v, dump %s %s:%d inlined=%v", i, name, o.File, o.Line, o.Inlined, w.fn, w.file, w.line, w.inlined)
		}
		if !o.Inlined && (w.hasOff != (o.Offset > 0) || w.off != o.Offset || w.sp != o.SP || w.pc != o.PC) {
			t.Errorf("frame %d %s: +%#x sp=%#x pc=%#x, dump +%#x sp=%#x pc=%#x", i, name, o.Offset, o.SP, o.PC, w.off, w.sp, w.pc)
		}
	}
	c := g.CreatedBy
	if d.createdBy == nil || c == nil {
		t.Fatalf("created by: ours %+v, dump %+v", c, d.createdBy)
	}
	if c.PrintName() != d.createdBy.fn || c.File != d.createdBy.file || c.Line != d.createdBy.line ||
		c.Offset != d.createdBy.off || g.ParentGoid.V != d.creator {
		t.Errorf("created by %s %s:%d +%#x in goroutine %v, dump %+v in goroutine %d",
			c.PrintName(), c.File, c.Line, c.Offset, g.ParentGoid, *d.createdBy, d.creator)
	}
}

func fmtStack(st []Frame) string {
	var b strings.Builder
	for _, f := range st {
		fmt.Fprintf(&b, "\n  %s %s:%d +%#x inl=%v", f.PrintName(), f.File, f.Line, f.Offset, f.Inlined)
	}
	return b.String()
}
