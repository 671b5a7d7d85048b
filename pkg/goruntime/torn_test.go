package goruntime

import (
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestTornReads samples the finalizer goroutine of a target that runs
// finalizers back to back (GC-heavy, never blocking) for a while: every
// stack returned must be complete and consistent, every counter pair
// ordered, and counters monotonic.
func TestTornReads(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t, build(t, v), "-mode=chan", "-after=1000000000", "-interval=0")
			tg.waitLine(t, "READY ", 0, 15*time.Second)
			r := attach(t, tg)
			tg.waitLine(t, "GT ", 0, 15*time.Second)
			var samples, stacks, retried, noStack, changing int
			var lastQ, lastE uint64
			for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); samples++ {
				st, err := r.Finalizers()
				if err != nil {
					t.Fatal(err)
				}
				if st.Queued.V < lastQ || st.Executed.V < lastE || !st.QueueLength.Known {
					t.Fatalf("sample %d: queued %v executed %v after %d/%d", samples, st.Queued, st.Executed, lastQ, lastE)
				}
				lastQ, lastE = st.Queued.V, st.Executed.V
				if !st.Consistent {
					changing++
				}
				g := st.Goroutine
				if g == nil {
					t.Fatalf("no finalizer goroutine: %s", st.GoroutineErr)
				}
				if g.Retries > 0 {
					retried++
				}
				if g.Stack == nil {
					noStack++
					continue
				}
				if g.StackErr != "" {
					t.Errorf("sample %d (%s): %s\n%s", samples, g.StatusName, g.StackErr, fmtStack(g.Stack))
					continue
				}
				n := len(g.Stack)
				if n < 2 || g.Stack[n-1].Func != "runtime.goexit" || g.Stack[n-2].Func != "runtime.runFinalizers" {
					t.Errorf("sample %d: stack %s", samples, fmtStack(g.Stack))
				}
				stacks++
			}
			t.Logf("%d samples: %d stacks, %d without a stack (running), %d g re-reads, %d with counters changing", samples, stacks, noStack, retried, changing)
			if stacks == 0 {
				t.Error("no stack read")
			}
		})
	}
}
