package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// cpuTime is the CPU time the process's threads used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads of pid %d: %v", pid, err)
	}
	var sum time.Duration
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		var ns int64
		fmt.Sscan(string(b), &ns)
		sum += time.Duration(ns)
	}
	return sum
}

// TestAllocTrapCost measures what a hit of an allocation probe costs the
// probed thread, which is where TrapCost and DefaultAllocRunTime come from.
// allochot allocates as fast as it can on one goroutine (a 4 KiB slice and
// 20 48-byte objects per iteration; on Go 1.27 each object is a direct call
// of mallocgcSmallNoScanSC5). Its iteration time is measured without a
// probe, then with alloc_probe on mallocgcSmallNoScanSC5 at the prologue's
// JBE (emulated) and at the entry's CMP (single-stepped), each with the
// process unwatched (the program returns after counting the hit) and
// watched (stack walk and site update too). Per hit = added time per
// iteration (the process's CPU time, from schedstat) / hits per iteration;
// the BPF run time comes from the kernel's statistics. Timings are logged;
// only their order is asserted, as a shared VM is noisy.
func TestAllocTrapCost(t *testing.T) {
	p := newProbes(t) // with BPF run-time statistics
	exe, b := allochot(t, testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Default})
	var sc5 *goexe.AllocProbe
	for _, ap := range b.AllocPoints().Malloc {
		if ap.Name() == "runtime.mallocgcSmallNoScanSC5" {
			sc5 = &ap
		}
	}
	if sc5 == nil || sc5.Cheap == nil {
		t.Fatal("mallocgcSmallNoScanSC5 not located")
	}
	tg := testutil.StartTarget(t, exe, "-small", "20", "-big-every", "0")
	tg.WaitLine(t, "START", 10*time.Second)
	// window measures the process's CPU time per iteration and the probe's
	// hits per iteration over n COUNT lines (200 ms each). CPU time, not
	// throughput: other work on the machine slows the target down, but does
	// not change what one iteration costs it.
	window := func(n int, a *AllocAttachment) (perIter time.Duration, hits float64) {
		i0 := parseCounts(t, tg.WaitNextLine(t, "COUNT ", 5*time.Second))["iters"]
		c0 := cpuTime(t, tg.Pid)
		var h0 map[string]uint64
		if a != nil {
			h0, _ = a.Hits()
		}
		for range n - 1 {
			tg.WaitNextLine(t, "COUNT ", 5*time.Second)
		}
		i1 := parseCounts(t, tg.WaitNextLine(t, "COUNT ", 5*time.Second))["iters"]
		c1 := cpuTime(t, tg.Pid)
		if a != nil {
			h1, _ := a.Hits()
			hits = float64(h1[sc5.Name()]-h0[sc5.Name()]) / (i1 - i0)
		}
		return time.Duration(float64(c1-c0) / (i1 - i0)), hits
	}
	base, _ := window(8, nil)
	t.Logf("no probe: %v CPU per iteration", base)
	results := map[string]time.Duration{}
	for _, c := range []struct {
		name    string
		pt      goexe.Point
		watched bool
	}{
		{"emulated, unwatched", *sc5.Cheap, false},
		{"emulated, watched", *sc5.Cheap, true},
		{"single-stepped, unwatched", sc5.Entry, false},
		{"single-stepped, watched", sc5.Entry, true},
	} {
		ap := *sc5
		ap.Cheap = nil
		ap.Entry = c.pt
		if c.watched {
			if err := p.Watch(tg.Pid); err != nil {
				t.Fatal(err)
			}
		}
		a, err := p.AttachAlloc(AllocTarget{ExePath: exe, PID: tg.Pid, Arch: b.Arch, Probes: []goexe.AllocProbe{ap},
			SpanBytes: b.AllocPoints().SpanBytes, Funcs: b})
		if err != nil {
			t.Fatal(err)
		}
		st0, _ := p.AllocProgramStats()
		with, perIter := window(8, a)
		st1, _ := p.AllocProgramStats()
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		_ = p.Unwatch(tg.Pid)
		perHit := time.Duration(float64(with-base) / perIter)
		var run time.Duration
		if st1.Runs > st0.Runs {
			run = (st1.RunTime - st0.RunTime) / time.Duration(st1.Runs-st0.Runs)
		}
		results[c.name] = perHit - run
		t.Logf("%-26s %v CPU per iteration, %.1f hits per iteration: %v per hit, of which BPF %v: trap %v",
			c.name, with, perIter, perHit, run, perHit-run)
		base, _ = window(4, nil) // re-measure the baseline
	}
	if results["emulated, unwatched"] >= results["single-stepped, unwatched"] {
		t.Errorf("an emulated hit (%v) is not cheaper than a single-stepped one (%v)",
			results["emulated, unwatched"], results["single-stepped, unwatched"])
	}
	if err := tg.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
		t.Fatalf("target did not exit cleanly: exited %v, %v", exited, err)
	}
}
