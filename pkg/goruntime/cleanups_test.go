package goruntime

import (
	"fmt"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestCleanupStuck: a cleanup blocks; the queue length equals the runtime's
// metrics, the cleanup goroutine is found through allgs and its stack
// matches the runtime's dump.
func TestCleanupStuck(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE, testutil.CGO) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg, r, blocked := startStuck(t, v, "cleanup")
			var st CleanupState
			sampleBetweenRounds(t, tg, blocked, 2, func() (err error) {
				st, err = r.Cleanups()
				return err
			}, func(want gt) error {
				if st.Queued.V != want.cqueued || st.Executed.V != want.cexecuted || !st.QueueLength.Known ||
					st.QueueLength.V != want.cqueued-want.cexecuted {
					return fmt.Errorf("cleanups queued %v executed %v length %v; runtime/metrics cqueued=%d cexecuted=%d",
						st.Queued, st.Executed, st.QueueLength, want.cqueued, want.cexecuted)
				}
				return nil
			})
			if st.Running.V != 1 || st.Goroutines.V < 1 {
				t.Errorf("running %v, goroutines %v", st.Running, st.Goroutines)
			}
			all, err := r.AllGoroutines(0)
			if err != nil {
				t.Fatal(err)
			}
			var stuck *Goroutine
			for _, g := range all {
				if g.StartFunc == "runtime.runCleanups" && g.StatusName == "waiting" && g.WaitReason.V == "chan receive" {
					stuck = g
				}
			}
			if stuck == nil {
				t.Fatalf("no cleanup goroutine blocked in chan receive among %d", len(all))
			}
			g, err := r.Goroutine(stuck.Addr)
			if err != nil {
				t.Fatal(err)
			}
			if !hasFrame(g.Stack, "main.cleanup") {
				t.Errorf("no main.cleanup frame: %s", fmtStack(g.Stack))
			}
			dump := tg.quit(t)
			compareWithDump(t, g, dump)
			compareAllWithDump(t, all, parseDump(dump))
		})
	}
}

// compareAllWithDump: every goroutine of the dump is in our allgs walk with
// the same status, and every live one we read is in the dump.
func compareAllWithDump(t *testing.T, all []*Goroutine, dump map[uint64]*dumpG) {
	t.Helper()
	ours := map[uint64]*Goroutine{}
	for _, g := range all {
		if !g.Dead() {
			ours[g.Goid.V] = g
		}
	}
	for id, d := range dump {
		if id == 0 {
			continue // the signal handler's g0
		}
		g := ours[id]
		if g == nil {
			t.Errorf("goroutine %d [%s] of the dump not in allgs", id, d.status)
			continue
		}
		want := g.StatusName
		if g.WaitReason.Known {
			want = g.WaitReason.V
		}
		if d.status != want && g.StatusName != "running" && d.status != "running" {
			t.Logf("goroutine %d: %s, dump %s (may have changed in between)", id, want, d.status)
		}
	}
	for id, g := range ours {
		if dump[id] == nil {
			t.Errorf("goroutine %d (%s, %s) not in the dump", id, g.StatusName, g.StartFunc)
		}
	}
}
