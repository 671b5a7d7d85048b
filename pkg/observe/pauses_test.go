package observe

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/testutil"
)

// gcState is a consistent GCState at cycle numgc whose ring holds the
// pause ns = cycle number × 1000 (so cycle c's pause is c µs).
func gcState(numgc uint32) goruntime.GCState {
	st := goruntime.GCState{Consistent: true}
	st.Cycles.V, st.Cycles.Known = uint64(numgc), true
	for c := numgc; c > 0 && len(st.RecentPauses) < 255; c-- {
		st.RecentPauses = append(st.RecentPauses, uint64(c)*1000)
	}
	return st
}

// TestPauseHistogramMissed: cycles the ring no longer holds when sampled
// (more than 255 between two samples) are counted as missed, not invented;
// a torn read is skipped and its cycles are taken at the next read; the
// first read without a start only sets it.
func TestPauseHistogramMissed(t *testing.T) {
	h := newPauseHist()
	h.update(gcState(10)) // no start: starts at 10
	h.update(gcState(12)) // cycles 11, 12
	torn := gcState(20)
	torn.Consistent = false
	h.update(torn)
	if got := h.snapshot(); got.Count != 2 || got.Missed != 0 || got.SumSeconds != 23e-6 {
		t.Fatalf("after cycles 11 and 12 (and a torn read): %+v", got)
	}
	h.update(gcState(12 + 300)) // cycles 13..312: the ring holds 58..312
	got := h.snapshot()
	var sum uint64 = 11 + 12
	for c := uint64(58); c <= 312; c++ {
		sum += c
	}
	if got.Count != 2+255 || got.Missed != 45 || got.SumSeconds != seconds(sum*1000) {
		t.Errorf("after 300 cycles in one interval: count %d missed %d sum %v, want 257, 45, %v", got.Count, got.Missed, got.SumSeconds, seconds(sum*1000))
	}
	// Cycles 11 and 12 (11 and 12 µs) are in le=25µs; 58..100 in le=100µs
	// (le is inclusive), 101..250 in le=250µs, the rest in le=500µs.
	b := got.UpperBoundsSeconds
	if len(b) != 16 || b[0] != 10e-6 || b[15] != 1 {
		t.Fatalf("bounds %v", b)
	}
	cum := got.CumulativeCounts
	if cum[0] != 0 || cum[1] != 2 || cum[2] != 2 || cum[3] != 2+(100-58+1) || cum[4] != 2+(250-58+1) || cum[5] != got.Count || cum[15] != got.Count {
		t.Errorf("cumulative counts %v", cum)
	}
	// numgc is a uint32: the count goes on across its wrap.
	w := newPauseHist()
	w.start(1<<32 - 2)
	w.update(gcState(1))
	if got := w.snapshot(); got.Count != 1 || got.Missed != 2 {
		t.Errorf("across the uint32 wrap: %+v, want 1 pause (cycle 1's; the ring holds no others) and 2 missed", got)
	}
}

// pausesLine is a "PAUSES numgc=N pauses=P,..." line of gcpauses.
func pausesLine(t *testing.T, s string) (numgc uint64, pauses []uint64) {
	t.Helper()
	var list string
	if _, err := fmt.Sscanf(s, "numgc=%d pauses=%s", &numgc, &list); err != nil {
		t.Fatalf("PAUSES line %q: %v", s, err)
	}
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			t.Fatalf("PAUSES line %q: %v", s, err)
		}
		pauses = append(pauses, v)
	}
	return numgc, pauses
}

// TestPauseHistogram attaches to gcpauses, has it run runtime.GC() 5 times,
// then 300 times, and samples after each: the histogram counts exactly the
// cycles since attach (NumGC's delta), its sum is exactly the sum of the
// target's own PauseNs for them, each pause is in its bucket, and the
// cycles of the 300 that the ring no longer held are counted as missed.
func TestPauseHistogram(t *testing.T) {
	testutil.RequireBPF(t)
	probes, err := probe.New(probe.Config{NoExecEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	defer probes.Close()
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cache := goexe.NewCache(2)
	defer cache.Close()
	for _, v := range testutil.Matrix(testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			tg := testutil.StartTarget(t, testutil.BuildTarget(t, "gcpauses", v), "-rounds=5,300")
			var start uint64
			fmt.Sscanf(tg.WaitLine(t, "READY ", 20*time.Second), "numgc=%d", &start)
			s, err := Attach(AttachConfig{PID: tg.Pid, Procs: procs, Cache: cache, Probes: probes})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			h := samplePauses(t, s)
			if h.Count != 0 || h.Missed != 0 || h.SumSeconds != 0 {
				t.Errorf("before any cycle since attach: %+v", h)
			}
			var want []uint64 // the pauses the histogram should hold
			var missed uint64
			prev := start
			for _, n := range []int{5, 300} {
				if err := tg.Signal(syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				numgc, pauses := pausesLine(t, tg.WaitNextLine(t, "PAUSES ", 30*time.Second))
				// memsight uses 255 of the ring's 256 slots: the cycles
				// before the last 255 are missed.
				held := min(numgc-prev, 255)
				missed += numgc - prev - held
				want = append(want, pauses[uint64(len(pauses))-held:]...)
				prev = numgc
				h := samplePauses(t, s)
				var sum uint64
				for _, p := range want {
					sum += p
				}
				t.Logf("after %d more runtime.GC(): numgc %d (%d at attach); histogram count %d, missed %d, sum %v",
					n, numgc, start, h.Count, h.Missed, h.SumSeconds)
				if h.Count+h.Missed != numgc-start || h.Count != uint64(len(want)) || h.Missed != missed {
					t.Errorf("count %d + missed %d, want %d + %d (NumGC %d - %d at attach)", h.Count, h.Missed, len(want), missed, numgc, start)
				}
				if h.SumSeconds != seconds(sum) {
					t.Errorf("sum %v s, the target's PauseNs sum to %d ns", h.SumSeconds, sum)
				}
				for i, b := range h.UpperBoundsSeconds {
					var le uint64
					for _, p := range want {
						if seconds(p) <= b {
							le++
						}
					}
					if h.CumulativeCounts[i] != le {
						t.Errorf("bucket le=%v: %d, the target's pauses: %d", b, h.CumulativeCounts[i], le)
					}
				}
			}
		})
	}
}

// samplePauses takes a sample and returns its pause histogram, checking
// that `memsight attach -o json` would show it.
func samplePauses(t *testing.T, s *Session) *model.PauseHistogram {
	t.Helper()
	out, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if out.GC == nil || out.GC.PauseHistogram == nil {
		t.Fatalf("no GC pause histogram: %v", out.Unknown)
	}
	b, err := json.Marshal(out)
	if err != nil || !strings.Contains(string(b), `"stw_pause_histogram":{"upper_bounds_seconds":[0.00001,`) {
		t.Errorf("JSON sample without the histogram (%v): %s", err, b)
	}
	return out.GC.PauseHistogram
}
