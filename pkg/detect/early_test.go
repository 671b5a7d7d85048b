package detect

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// sweepSeeds is how many simulated processes each case of the sweeps runs:
// MEMSIGHT_SWEEP_SEEDS, or def.
func sweepSeeds(t *testing.T, def int) int {
	if v := os.Getenv("MEMSIGHT_SWEEP_SEEDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("MEMSIGHT_SWEEP_SEEDS=%q: want a positive integer", v)
		}
		return n
	}
	return def
}

// attachConfig is memsight attach's default detector configuration.
func attachConfig() Config {
	c := Defaults()
	c.GrowthMinWindow = 30 * time.Second
	return c
}

// wholeWindowConfig is the configuration without early findings.
func wholeWindowConfig() Config {
	c := Defaults()
	c.GrowthMinWindow = c.GrowthWindow
	return c
}

// distribution summarizes detection times (seconds; -1: not detected).
type distribution []float64

func (d distribution) quantile(q float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return -1
	}
	for i, v := range s {
		if v < 0 {
			s[i] = 1e9 // missed sorts last
		}
	}
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (d distribution) within(sec float64) int {
	n := 0
	for _, v := range d {
		if v >= 0 && v <= sec {
			n++
		}
	}
	return n
}

func (d distribution) String() string {
	f := func(v float64) string {
		if v >= 1e9 {
			return "never"
		}
		return fmt.Sprintf("%.0f s", v)
	}
	return fmt.Sprintf("min %s, median %s, p90 %s, max %s; %d/%d within 60 s",
		f(d.quantile(0)), f(d.quantile(0.5)), f(d.quantile(0.9)), f(d.quantile(1)), d.within(60), len(d))
}

// leakCase is a simulated leak and the finding that must name it.
type leakCase struct {
	name  string
	p     simProc
	kind  string
	cause string // of rss_growth
}

func leakCases(mibPerSec float64) []leakCase {
	rate := mibPerSec * mib
	return []leakCase{
		{"heap, GC every 2 s", simProc{heapLeak: rate, gcPeriod: 2}, model.KindRSSGrowth, CauseGoHeap},
		{"heap, GC every 10 s", simProc{heapLeak: rate, gcPeriod: 10}, model.KindRSSGrowth, CauseGoHeap},
		{"heap, GC every 30 s", simProc{heapLeak: rate, gcPeriod: 30}, model.KindRSSGrowth, CauseGoHeap},
		{"heap, GC 2 s, load swings", simProc{heapLeak: rate, gcPeriod: 2, swing: true}, model.KindRSSGrowth, CauseGoHeap},
		{"mmap", simProc{mmapLeak: rate}, model.KindRSSGrowth, CauseNonHeap},
		{"goroutines (8 KiB each)", simProc{goLeak: rate / goStack}, model.KindRSSGrowth, CauseGoroutines},
	}
}

// TestEarlyDetection: with attach's defaults, simulated leaks of 1, 0.5 and
// 0.1 MiB/s under realistic noise (see simProc) are found, first with the
// right cause; the detection times are logged. At 1 MiB/s a leak of
// memory outside the heap or of goroutines is found within 60 s in at
// least 90 % of the runs, a heap collected every 2 s in at least half. A
// heap grows RSS in one step per GC cycle (up to the new goal), so its leak
// needs several cycles to be told from a level shift: collected every 10 s
// or 30 s, it is only required to be found at all.
func TestEarlyDetection(t *testing.T) {
	seeds := sweepSeeds(t, 20)
	cfg := attachConfig()
	for _, rate := range []float64{1, 0.5, 0.1} {
		for _, c := range leakCases(rate) {
			var d distribution
			wrong := map[any]int{}
			for seed := range uint64(seeds) {
				sec, f := firstFiring(cfg, c.p.simulate(1000+seed, 10*time.Minute, time.Second), c.kind, "")
				d = append(d, sec)
				if f != nil && f.Evidence["cause"] != c.cause {
					wrong[f.Evidence["cause"]]++
				}
			}
			t.Logf("%.1f MiB/s %-26s %s %s: %s; other cause first: %v", rate, c.name, c.kind, c.cause, d, wrong)
			if d.quantile(1) >= 1e9 {
				t.Errorf("%.1f MiB/s %s: not found in 10 min in every run: %s", rate, c.name, d)
			}
			if rate >= 0.5 && len(wrong) > 0 {
				t.Errorf("%.1f MiB/s %s: first found with the cause %v, want %s", rate, c.name, wrong, c.cause)
			}
			switch {
			case rate < 1 || c.p.swing:
			case c.p.gcPeriod == 0 && d.within(60)*10 < len(d)*9:
				t.Errorf("%.1f MiB/s %s: found within 60 s in %d of %d runs, want 90 %%", rate, c.name, d.within(60), len(d))
			case c.p.gcPeriod == 2 && d.within(60)*2 < len(d):
				t.Errorf("%.1f MiB/s %s: found within 60 s in %d of %d runs, want half", rate, c.name, d.within(60), len(d))
			}
		}
	}
	for _, c := range []struct {
		name string
		p    simProc
		kind string
	}{
		{"goroutines 2/s", simProc{goLeak: 2}, model.KindGoroutineGrowth},
		{"goroutines 0.5/s", simProc{goLeak: 0.5}, model.KindGoroutineGrowth},
		{"fds 1/s", simProc{fdLeak: 1}, model.KindFDGrowth},
		{"fds 0.2/s", simProc{fdLeak: 0.2}, model.KindFDGrowth},
	} {
		var d distribution
		for seed := range uint64(seeds) {
			sec, _ := firstFiring(cfg, c.p.simulate(2000+seed, 10*time.Minute, time.Second), c.kind, "")
			d = append(d, sec)
		}
		t.Logf("%-35s %s: %s", c.name, c.kind, d)
		if d.quantile(1) >= 1e9 {
			t.Errorf("%s: not found in 10 min in every run: %s", c.name, d)
		}
	}
}

// TestEarlyFalsePositives: simulated processes that do not leak (steady,
// with slow load swings, with large RSS steps, with a warm-up ramp) watched
// for 10 minutes, each by three detectors: memsight attach's defaults
// (early findings from 30 s on), the agent's (detect.Defaults(): from 5 min
// on) and the whole-window rule alone (the behaviour before early
// findings), the baseline. attach may fire on at most 2 % of the runs more
// than the baseline, the agent on at most 1 %.
func TestEarlyFalsePositives(t *testing.T) {
	seeds := sweepSeeds(t, 40)
	cases := []struct {
		name string
		p    simProc
	}{
		{"steady", simProc{}},
		{"load swings", simProc{swing: true}},
		{"8 MiB RSS steps", simProc{rssNoise: 8 << 20}},
		{"4 MiB warm-up ramp", simProc{warmupRamp: 4 << 20}},
	}
	configs := []struct {
		name string
		cfg  Config
	}{{"attach", attachConfig()}, {"agent", Defaults()}, {"whole window", wholeWindowConfig()}}
	total := make([]int, len(configs))
	for _, c := range cases {
		fired := make([][]string, len(configs))
		for seed := range uint64(seeds) {
			ss := c.p.simulate(seed, 10*time.Minute, time.Second)
			for i, cf := range configs {
				sec, f := anyFinding(cf.cfg, ss)
				if f == nil {
					continue
				}
				fired[i] = append(fired[i], fmt.Sprintf("%.0fs", sec))
				if testing.Verbose() && f.Evidence["early"] == true {
					t.Logf("  %s, %s, seed %d at %.0f s: %s", c.name, cf.name, seed, sec, f.Summary)
				}
			}
		}
		line := fmt.Sprintf("%-19s %d runs of 10 min fired:", c.name, seeds)
		for i, cf := range configs {
			line += fmt.Sprintf(" %s %d %v;", cf.name, len(fired[i]), fired[i])
			total[i] += len(fired[i])
		}
		t.Log(line)
	}
	n := seeds * len(cases)
	base := total[len(total)-1]
	for i, cf := range configs {
		t.Logf("%-12s fired on %d of %d runs (%.2f %%)", cf.name, total[i], n, 100*float64(total[i])/float64(n))
	}
	if extra := total[0] - base; extra*50 > n {
		t.Errorf("attach's defaults fired on %d runs more than the whole window alone (%d of %d)", extra, base, n)
	}
	if extra := total[1] - base; extra*100 > n {
		t.Errorf("the agent's defaults fired on %d runs more than the whole window alone (%d of %d)", extra, base, n)
	}
}
