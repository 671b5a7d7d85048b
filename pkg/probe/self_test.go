package probe

import (
	"os"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"
)

type selfObj struct{ _ [64]byte }

var selfGoids struct {
	sync.Mutex
	fin, cleanup map[uint64]int
}

func selfFinalizer(*selfObj) {
	selfGoids.Lock()
	selfGoids.fin[currentGoid()]++
	selfGoids.Unlock()
}

func selfQuickFinalizer(*selfObj) {}

func selfCleanup(int) {
	selfGoids.Lock()
	selfGoids.cleanup[currentGoid()]++
	selfGoids.Unlock()
}

// selfDeep calls runtime.SetFinalizer at every recursion depth, so some calls
// find the stack too small in SetFinalizer's prologue and re-run its entry.
//
//go:noinline
func selfDeep(d, max int) int {
	var pad [40]byte
	runtime.SetFinalizer(&selfObj{}, selfQuickFinalizer)
	n := 1
	if d < max {
		n += selfDeep(d+1, max)
	}
	_ = pad
	return n
}

// quiet runs a GC and returns the counters and the runtime's view once no
// GC cycle is in progress (the runtime's count did not move while reading).
func quiet(t *testing.T, p *Probes) (Counters, gt) {
	t.Helper()
	for i := 0; ; i++ {
		runtime.GC()
		g0 := readGT(t)
		c, ok := p.Counters(os.Getpid())
		if !ok {
			t.Fatal("no counters for the test process")
		}
		if g1 := readGT(t); g1.numgc == g0.numgc && c.GCCycles == c.GCEnds || i == 10 {
			return c, g0
		}
	}
}

// TestSelf probes the test process itself (points located without goexe)
// and compares every counter with the runtime's own metrics, with each way
// of attaching uprobes.
func TestSelf(t *testing.T) {
	t.Run("uprobe_multi", func(t *testing.T) {
		testSelf(t, newProbesWith(t, Config{Stats: true}))
	})
	t.Run("perf_uprobe", func(t *testing.T) {
		testSelf(t, newProbesWith(t, Config{Stats: true, PerfUprobes: true}))
	})
}

func testSelf(t *testing.T, p *Probes) {
	tgt := selfTarget(t)
	start := time.Now()
	a, err := p.Attach(tgt)
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	t.Logf("Attach (%d probes, PID filter): %v; skipped %v", len(a.Points()), time.Since(start), a.Skipped())
	defer a.Close()
	col := collect(t, p)
	selfGoids.Lock()
	selfGoids.fin, selfGoids.cleanup = map[uint64]int{}, map[uint64]int{}
	selfGoids.Unlock()

	c0, g0 := quiet(t, p)
	const nFin, nCleanup, nDeep = 100, 100, 20
	registered := 0
	for i := 0; i < nDeep; i++ {
		ch := make(chan int)
		go func() { ch <- selfDeep(0, 200) }()
		registered += <-ch
	}
	for i := 0; i < nFin; i++ {
		runtime.SetFinalizer(&selfObj{}, selfFinalizer)
		registered++
		runtime.AddCleanup(&selfObj{}, selfCleanup, i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		g := readGT(t)
		if g.executed == g.queued && g.cexecuted == g.cqueued && g.executed-g0.executed >= nFin+uint64(registered-nFin) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finalizers did not drain: %+v", g)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c1, g1 := quiet(t, p)

	check := func(name string, bpf, want uint64) {
		t.Helper()
		t.Logf("%-22s BPF %6d  runtime %6d", name, bpf, want)
		if bpf != want {
			t.Errorf("%s: BPF %d, runtime %d", name, bpf, want)
		}
	}
	check("finalizers registered", c1.FinalizersRegistered-c0.FinalizersRegistered, uint64(registered))
	check("finalizers queued", c1.FinalizersQueued-c0.FinalizersQueued, g1.queued-g0.queued)
	check("finalizers started", c1.FinalizersStarted-c0.FinalizersStarted, g1.executed-g0.executed)
	check("finalizers finished", c1.FinalizersFinished-c0.FinalizersFinished, g1.executed-g0.executed)
	check("cleanups queued", c1.CleanupsQueued-c0.CleanupsQueued, g1.cqueued-g0.cqueued)
	check("cleanups started", c1.CleanupsStarted-c0.CleanupsStarted, g1.cexecuted-g0.cexecuted)
	check("cleanups finished", c1.CleanupsFinished-c0.CleanupsFinished, g1.cexecuted-g0.cexecuted)
	check("cleanups running", c1.CleanupsRunning, 0)
	check("GC cycles", c1.GCCycles-c0.GCCycles, g1.numgc-g0.numgc)
	check("GC ends", c1.GCEnds-c0.GCEnds, g1.numgc-g0.numgc)
	check("unpaired ends", c1.UnpairedEnds, 0)
	check("read errors", c1.ReadErrors, 0)
	t.Logf("entry repeats (morestack): %d; STW: %d pauses, %v total, %v max, %v GC",
		c1.EntryRepeats, c1.STWPauses-c0.STWPauses, c1.STWTotal-c0.STWTotal, c1.STWMax, c1.STWGCTotal-c0.STWGCTotal)
	if c1.Running != nil {
		t.Errorf("a finalizer is reported running after the drain: %+v", *c1.Running)
	}
	if d := c1.STWPauses - c0.STWPauses; d < 2*(g1.numgc-g0.numgc) {
		t.Errorf("%d STW pauses for %d GC cycles, want at least 2 per cycle", d, g1.numgc-g0.numgc)
	}

	// Events: every finalizer and cleanup of ours, with its function and goroutine.
	pid := os.Getpid()
	finPC := uint64(reflect.ValueOf(selfFinalizer).Pointer())
	cleanupPC := uint64(reflect.ValueOf(selfCleanup).Pointer())
	starts := col.wait(t, pid, FinalizerStart, int(c1.FinalizersStarted), 5*time.Second)
	ends := col.wait(t, pid, FinalizerEnd, int(c1.FinalizersFinished), 5*time.Second)
	cstarts := col.wait(t, pid, CleanupStart, int(c1.CleanupsStarted), 5*time.Second)
	cends := col.wait(t, pid, CleanupEnd, int(c1.CleanupsFinished), 5*time.Second)
	selfGoids.Lock()
	defer selfGoids.Unlock()
	ours := 0
	knownGoid := tgt.GoidOffset >= 0
	for _, e := range starts {
		if e.PC == finPC {
			ours++
			if knownGoid && selfGoids.fin[e.Goid] == 0 || !knownGoid && e.Goid != 0 {
				t.Errorf("finalizer start event goid %d: not a goroutine that ran selfFinalizer (%v)", e.Goid, selfGoids.fin)
				break
			}
		}
	}
	if ours != nFin {
		t.Errorf("%d finalizer start events with selfFinalizer's PC %#x, want %d", ours, finPC, nFin)
	}
	for _, e := range ends {
		if e.NoStart || e.Duration <= 0 {
			t.Errorf("finalizer end event without a duration: %+v", e)
			break
		}
	}
	ours = 0
	for _, e := range cstarts {
		if e.PC == cleanupPC {
			ours++
			if knownGoid && (selfGoids.cleanup[e.Goid] == 0 || e.ByThread) || !knownGoid && (e.Goid != 0 || !e.ByThread) {
				t.Errorf("cleanup start event goid %d (by thread %v): not a goroutine that ran selfCleanup (%v)", e.Goid, e.ByThread, selfGoids.cleanup)
				break
			}
		}
	}
	if ours != nCleanup {
		t.Errorf("%d cleanup start events with selfCleanup's PC %#x, want %d", ours, cleanupPC, nCleanup)
	}
	for _, e := range cends {
		if e.NoStart || e.PC != cleanupPC && e.PC != 0 && len(cstarts) == nCleanup {
			t.Errorf("cleanup end event not paired: %+v", e)
			break
		}
	}
	// Events trail the counters: wait for as many GC ends as counted by now.
	now, _ := p.Counters(pid)
	col.wait(t, pid, STWEnd, int(now.STWPauses), 5*time.Second)
	var gcEnds uint64
	for _, e := range col.of(pid, STWEnd) {
		if e.GCEnd {
			gcEnds++
			if e.Reason != STWReasonGCMarkTerm || e.GoNow == 0 {
				t.Errorf("GC-end STW event with reason %d, now %d", e.Reason, e.GoNow)
			}
		}
	}
	if gcEnds < now.GCEnds {
		t.Errorf("%d GC-end events, counters say %d", gcEnds, now.GCEnds)
	}
	if n, err := p.Drops(); err != nil || n != 0 {
		t.Errorf("ring buffer drops: %d, %v", n, err)
	}
	stats, err := p.ProgramStats()
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range stats {
		if s.Runs > 0 {
			t.Logf("program %-16s %6d runs, %v avg", name, s.Runs, s.RunTime/time.Duration(s.Runs))
		}
	}
}
