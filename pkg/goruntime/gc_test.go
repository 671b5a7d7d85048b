package goruntime

import (
	"debug/dwarf"
	"fmt"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestGCMatchesRuntime reads a GC-heavy target while it runs (values must
// be monotonic and reads consistent), then at a quiet moment compares every
// value with the target's own runtime.ReadMemStats: cycles, pause total,
// last pause and p99 exactly, heap in use within 2 %, the heap goal exactly
// when it is computed as the runtime does.
func TestGCMatchesRuntime(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE, testutil.CGO) {
		// steady with a 16 MiB GOMEMLIMIT over its 8 MiB live set (after
		// 2.5 s): the memory-limit goal binds, not GOGC's (twice the live
		// set), and stays above the heap so the paused target stays quiet.
		for _, mode := range []string{"gc", "steady", "steady -memlimit=16777216 -warmup=2500ms"} {
			if mode != "gc" && v.Mode != testutil.Default {
				continue
			}
			t.Run(v.String()+"/"+mode, func(t *testing.T) {
				t.Parallel()
				args := append([]string{"-warmup=300ms"}, strings.Fields("-mode="+mode)...)
				tg := startTarget(t, testutil.BuildTarget(t, "memgrow", v), args...)
				tg.waitLine(t, "READY ", 0, 15*time.Second)
				r := attachGC(t, tg)
				running := readWhileRunning(t, r, 500*time.Millisecond)
				if err := tg.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				line, i := tg.waitLine(t, "TRUTH ", 0, 15*time.Second)
				st, err := r.GC()
				if err != nil {
					t.Fatal(err)
				}
				if tg.nlines() > i+1 {
					t.Fatal("the target printed TRUTH2 before the read finished")
				}
				want := testutil.ParseMemTruth(t, line)
				checkGC(t, st, want, strings.Contains(mode, "memlimit"))
				t.Logf("%s; numgc %d (running: %s) pause total %d ns, p99 %d ns, heap in use %d vs %d (%+.3f %%), goal %s (%s) vs NextGC %d",
					r.l.Source, want.NumGC, running, st.PauseTotalNs.V, st.PauseP99Ns.V, st.HeapInUse.V, want.HeapInuse,
					100*(float64(st.HeapInUse.V)/float64(want.HeapInuse)-1), st.HeapGoal, st.HeapGoalKind, want.NextGC)
			})
		}
	}
}

func checkGC(t *testing.T, st GCState, want testutil.MemTruth, limited bool) {
	t.Helper()
	if !st.Consistent {
		t.Errorf("read of a quiet target not consistent after %d reads", st.Reads)
	}
	if st.Cycles.V != want.NumGC {
		t.Errorf("cycles %v, runtime.NumGC %d", st.Cycles, want.NumGC)
	}
	if d := math.Abs(float64(st.PauseTotalNs.V) - float64(want.PauseTotal)); d > 0.05*float64(want.PauseTotal) || d != 0 {
		t.Errorf("pause total %v ns, MemStats.PauseTotalNs %d", st.PauseTotalNs, want.PauseTotal)
	}
	if want.NumGC > 0 && (st.LastPauseNs.V != want.LastPause || st.PauseP99Ns.V != want.P99) {
		t.Errorf("last pause %v p99 %v, runtime %d %d", st.LastPauseNs, st.PauseP99Ns, want.LastPause, want.P99)
	}
	if want.NumGC == 0 && st.PauseP99Ns.Known {
		t.Errorf("p99 %v before the first cycle", st.PauseP99Ns)
	}
	if d := math.Abs(float64(st.HeapInUse.V) - float64(want.HeapInuse)); d > 0.02*float64(want.HeapInuse) {
		t.Errorf("heap in use %v, MemStats.HeapInuse %d", st.HeapInUse, want.HeapInuse)
	}
	if alloc := st.TotalAlloc.V - st.TotalFree.V; math.Abs(float64(alloc)-float64(want.HeapAlloc)) > 0.02*float64(want.HeapAlloc) {
		t.Errorf("heap alloc %d, MemStats.HeapAlloc %d", alloc, want.HeapAlloc)
	}
	if st.HeapLive.V < st.HeapMarked.V || st.HeapMarked.V > want.HeapAlloc+want.HeapAlloc/10 {
		t.Errorf("heap live %v marked %v, heap alloc %d", st.HeapLive, st.HeapMarked, want.HeapAlloc)
	}
	switch st.HeapGoalKind {
	case HeapGoalRuntime:
		// Under a memory limit the goal follows mappedReady, which the
		// scavenger lowers 64 KiB at a time even in a paused target.
		tol := 0.0
		if limited {
			tol = 0.01 * float64(want.NextGC)
		}
		if math.Abs(float64(st.HeapGoal.V)-float64(want.NextGC)) > tol {
			t.Errorf("heap goal %v, MemStats.NextGC %d", st.HeapGoal, want.NextGC)
		}
	case "":
		if st.HeapGoal.Known || st.HeapGoal.Why == "" {
			t.Errorf("heap goal %+v without a kind", st.HeapGoal)
		}
	default:
		if st.HeapGoal.V > want.NextGC {
			t.Errorf("GOGC heap goal %v above MemStats.NextGC %d", st.HeapGoal, want.NextGC)
		}
	}
	if !st.GCPercent.Known || !st.MemoryLimit.Known || (st.MemoryLimit.V == math.MaxInt64) == limited {
		t.Errorf("GOGC %v, memory limit %v (GOMEMLIMIT set: %v)", st.GCPercent, st.MemoryLimit, limited)
	}
	if limited && st.HeapGoalKind == HeapGoalRuntime && (st.HeapGoal.V >= 16<<20 || st.HeapGoal.V >= 2*st.HeapMarked.V) {
		t.Errorf("heap goal %v (marked %v): the 16 MiB memory limit does not bind", st.HeapGoal, st.HeapMarked)
	}
}

// readWhileRunning reads the GC state of a running target back to back:
// counters never go backwards, pauses stay ordered, and most reads are
// consistent.
func readWhileRunning(t *testing.T, r *Runtime, d time.Duration) string {
	t.Helper()
	var prev GCState
	reads, torn, retried := 0, 0, 0
	for deadline := time.Now().Add(d); time.Now().Before(deadline); reads++ {
		st, err := r.GC()
		if err != nil {
			t.Fatal(err)
		}
		if !st.Consistent {
			torn++
		}
		if st.Reads > 1 {
			retried++
		}
		if st.Cycles.V < prev.Cycles.V || st.PauseTotalNs.V < prev.PauseTotalNs.V || st.TotalAlloc.V < prev.TotalAlloc.V {
			t.Fatalf("read %d went backwards: %+v after %+v", reads, st, prev)
		}
		if st.Cycles.V > 0 && (st.PauseP99Ns.V > st.PauseMaxNs.V || st.LastPauseNs.V > st.PauseMaxNs.V) {
			t.Fatalf("read %d: last %v p99 %v max %v", reads, st.LastPauseNs, st.PauseP99Ns, st.PauseMaxNs)
		}
		prev = st
		time.Sleep(100 * time.Microsecond) // leave the target some CPU
	}
	if torn > reads/10 {
		t.Errorf("%d of %d reads torn after retries", torn, reads)
	}
	return fmt.Sprintf("%d reads, %d retried, %d torn; %d cycles seen", reads, retried, torn, prev.Cycles.V)
}

// attachGC opens the target like attach, adding the gcController offsets
// the heap goal needs from the binary's DWARF when the layout lacks them.
func attachGC(t *testing.T, tg *target) *Runtime {
	t.Helper()
	b, err := goexe.Open(fmt.Sprintf("/proc/%d/exe", tg.pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if _, ok := b.Layout.Off("runtime.gcControllerState.gcPercentHeapGoal"); !ok && b.HasDWARF {
		addGoalOffsets(t, b)
	}
	return runtimeOf(t, tg.pid, b)
}

// addGoalOffsets reads the offsets of gcCtlGoal from DWARF into b's layout.
func addGoalOffsets(t *testing.T, b *goexe.Binary) {
	t.Helper()
	d, err := b.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	rd := d.Reader()
	for {
		e, err := rd.Next()
		if err != nil || e == nil {
			t.Fatalf("no runtime.gcControllerState in DWARF (%v)", err)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "runtime.gcControllerState" {
			continue
		}
		ty, err := d.Type(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ty.(*dwarf.StructType).Field {
			for _, want := range gcCtlGoal {
				if f.Name == want {
					b.Layout.Fields["runtime.gcControllerState."+want] = f.ByteOffset
				}
			}
		}
		return
	}
}
