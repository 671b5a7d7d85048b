package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

const mib = 1 << 20

// synth describes a synthetic process: each function gives a value at
// second sec of the run (nil: unknown).
type synth struct {
	rss        func(sec float64) float64
	heap       func(sec float64) float64 // in use
	live       func(sec float64) float64 // marked at the last GC (default: heap)
	goroutines func(sec float64) int
	fds        func(sec float64) int
	finq       func(sec float64) int64
	p99        func(sec float64) float64
	sites      []model.SiteCount
}

func (p synth) sample(sec float64) *model.Sample {
	s := &model.Sample{Time: t0.Add(time.Duration(sec * float64(time.Second))), RSSBytes: uint64(p.rss(sec)), FDs: model.FDs{Open: -1}}
	if p.heap != nil {
		live := p.heap(sec)
		if p.live != nil {
			live = p.live(sec)
		}
		s.Heap = &model.Heap{InuseBytes: uint64(p.heap(sec)), LiveBytes: uint64(live)}
	}
	if p.goroutines != nil {
		n := p.goroutines(sec)
		s.Goroutines = &model.Goroutines{Total: n, User: n - 5, TopCreationSites: p.sites}
	}
	if p.fds != nil {
		s.FDs.Open = p.fds(sec)
	}
	if p.finq != nil {
		q := p.finq(sec)
		s.Finalizers.QueueLength = &q
	}
	if p.p99 != nil {
		s.GC = &model.GC{CyclesTotal: 100 + uint64(sec/5), STWPauseP99Seconds: p.p99(sec), LastPauseSeconds: p.p99(sec) / 2}
	}
	return s
}

// run feeds samples every step for dur and returns the last sample and its findings.
func (p synth) run(d *Detector, dur, step time.Duration) (*model.Sample, []model.Finding) {
	var s *model.Sample
	var fs []model.Finding
	for t := time.Duration(0); t <= dur; t += step {
		s = p.sample(t.Seconds())
		fs = d.Update(s)
	}
	return s, fs
}

func find(fs []model.Finding, kind string) *model.Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

func linear(start, perHour float64) func(float64) float64 {
	return func(sec float64) float64 { return start + perHour*sec/3600 }
}

// noisy adds uniform noise of ± amp, reproducibly.
func noisy(f func(float64) float64, amp float64, seed uint64) func(float64) float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	return func(sec float64) float64 { return f(sec) + amp*(2*r.Float64()-1) }
}

func TestGrowthFitLine(t *testing.T) {
	var s series
	for i := 0; i < 10; i++ {
		s.add(t0.Add(time.Duration(i)*time.Minute), 100+float64(i)*5, time.Hour)
	}
	f, ok := s.fit(time.Minute)
	if !ok || math.Abs(f.PerHour-300) > 1e-9 || math.Abs(f.R2-1) > 1e-12 || f.N != 10 || math.Abs(f.Rise-45) > 1e-9 {
		t.Fatalf("fit %+v ok=%v, want 300/h, R² 1", f, ok)
	}
	s.add(t0.Add(70*time.Minute), 0, 62*time.Minute) // trims to the window: minutes 8, 9, 70
	if len(s.pts) != 3 {
		t.Fatalf("window kept %d points", len(s.pts))
	}
	if _, ok := s.fit(0); ok {
		t.Error("fit from 3 points")
	}
}

// TestGrowthDesignNotesExample is the example of the design notes: RSS grows
// linearly, HeapInuse is about 92 % of RSS, goroutines are stuck at 3217
// and more and never fall, the GC p99 pause is normal. That is a heap or
// goroutine leak, never a GC pause regression.
func TestGrowthDesignNotesExample(t *testing.T) {
	rss := noisy(linear(1<<30, 200*mib), 2*mib, 1)
	p := synth{
		rss:        rss,
		heap:       func(sec float64) float64 { return 0.92 * rss(sec) },
		goroutines: func(sec float64) int { return 3217 + int(sec/30) },
		fds:        func(float64) int { return 40 },
		finq:       func(float64) int64 { return 0 },
		p99:        noisy(func(float64) float64 { return 450e-6 }, 100e-6, 2),
	}
	d := New(Config{})
	s, fs := p.run(d, 15*time.Minute, 10*time.Second)
	f := find(fs, model.KindRSSGrowth)
	if f == nil {
		t.Fatalf("no rss_growth: %v", kinds(fs))
	}
	if c := f.Evidence["cause"]; c != CauseGoHeap && c != CauseGoroutines {
		t.Errorf("cause %v, want go_heap or goroutines; %s", c, f.Summary)
	}
	if find(fs, model.KindGCPauseRegression) != nil {
		t.Errorf("normal GC pauses reported as a regression: %v", kinds(fs))
	}
	if find(fs, model.KindFDGrowth) != nil {
		t.Errorf("flat fds reported as growth")
	}
	if s.RSS.SlopeBytesPerHour == nil || math.Abs(*s.RSS.SlopeBytesPerHour-200*mib) > 10*mib || *s.RSS.R2 < 0.9 {
		t.Errorf("RSS slope %v R² %v, want about 200 MiB/h", s.RSS.SlopeBytesPerHour, s.RSS.R2)
	}
	if s.Heap.SlopeBytesPerHour == nil || s.Goroutines.SlopePerHour == nil || s.FDs.SlopePerHour == nil {
		t.Errorf("slopes not published: heap %v goroutines %v fds %v", s.Heap.SlopeBytesPerHour, s.Goroutines.SlopePerHour, s.FDs.SlopePerHour)
	}
	t.Logf("%s", f.Summary)
}

func TestRSSGrowthCauses(t *testing.T) {
	flat := func(v float64) func(float64) float64 { return func(float64) float64 { return v } }
	cases := map[string]struct {
		p     synth
		cause string
		also  string // another finding expected
	}{
		"map": {p: synth{rss: noisy(linear(50*mib, 300*mib), mib, 3), heap: linear(30*mib, 290*mib)}, cause: CauseGoHeap, also: model.KindHeapGrowth},
		"mmap": {p: synth{rss: noisy(linear(50*mib, 300*mib), mib, 4), heap: noisy(flat(4*mib), 0.5*mib, 5), live: flat(2 * mib)},
			cause: CauseNonHeap},
		"finalizers": {p: synth{rss: linear(50*mib, 300*mib), heap: linear(40*mib, 280*mib),
			finq: func(sec float64) int64 { return int64(20 * sec) }}, cause: CauseFinalizerBacklog},
		"goroutines": {p: synth{rss: linear(50*mib, 100*mib), heap: noisy(flat(10*mib), mib, 6),
			goroutines: func(sec float64) int { return 100 + int(sec) },
			sites:      []model.SiteCount{{Function: "main.serve", File: "/src/main.go", Line: 42, Count: 900, WaitReason: "chan receive"}}},
			cause: CauseGoroutines, also: model.KindGoroutineGrowth},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := New(Config{GrowthWindow: 5 * time.Minute})
			_, fs := c.p.run(d, 6*time.Minute, 5*time.Second)
			f := find(fs, model.KindRSSGrowth)
			if f == nil {
				t.Fatalf("no rss_growth: %v", kinds(fs))
			}
			if f.Evidence["cause"] != c.cause {
				t.Errorf("cause %v, want %s: %s", f.Evidence["cause"], c.cause, f.Summary)
			}
			if c.also != "" && find(fs, c.also) == nil {
				t.Errorf("no %s: %v", c.also, kinds(fs))
			}
			if g := find(fs, model.KindGoroutineGrowth); g != nil {
				if site, _ := g.Evidence["top_creation_site"].(model.SiteCount); site.Function != "main.serve" {
					t.Errorf("goroutine_growth evidence %v", g.Evidence)
				}
				t.Logf("%s", g.Summary)
			}
			if c.cause == CauseNonHeap && find(fs, model.KindHeapGrowth) != nil {
				t.Errorf("a flat heap reported as heap_growth")
			}
			t.Logf("%s", f.Summary)
		})
	}
}

// TestGrowthSteadyNoFindings: noisy but flat RSS, a GC sawtooth heap, bouncing
// goroutines and fds: nothing fires, at default and at short windows.
func TestGrowthSteadyNoFindings(t *testing.T) {
	saw := func(sec float64) float64 { return 20*mib + 20*mib*math.Mod(sec, 37)/37 }
	r := rand.New(rand.NewPCG(7, 7))
	p := synth{
		rss:        noisy(func(float64) float64 { return 60 * mib }, 3*mib, 8),
		heap:       saw,
		live:       func(float64) float64 { return 20 * mib },
		goroutines: func(float64) int { return 50 + r.IntN(30) },
		fds:        func(float64) int { return 12 + r.IntN(5) },
		finq:       func(float64) int64 { return int64(r.IntN(100)) },
		p99:        noisy(func(float64) float64 { return 300e-6 }, 200e-6, 9),
	}
	for _, w := range []time.Duration{10 * time.Minute, 30 * time.Second} {
		d := New(Config{GrowthWindow: w})
		for sec := 0.0; sec <= 1200; sec++ {
			if fs := d.Update(p.sample(sec)); len(fs) != 0 {
				t.Fatalf("window %v, at %.0f s: %v: %s", w, sec, kinds(fs), fs[0].Summary)
			}
		}
	}
}

// TestHeapRampBetweenGCs: heap in use rising linearly while no GC runs
// (the live heap is flat) is garbage, not heap growth.
func TestHeapRampBetweenGCs(t *testing.T) {
	p := synth{rss: func(float64) float64 { return 100 * mib }, heap: linear(10*mib, 3600*mib), live: func(float64) float64 { return 10 * mib }}
	d := New(Config{GrowthWindow: 20 * time.Second})
	_, fs := p.run(d, 20*time.Second, 500*time.Millisecond)
	if len(fs) != 0 {
		t.Fatalf("got %v", kinds(fs))
	}
}

func TestGCPauseRegression(t *testing.T) {
	base := noisy(func(float64) float64 { return 300e-6 }, 50e-6, 10)
	for _, c := range []struct {
		after float64
		fires bool
	}{{5e-3, true}, {800e-6, false}, {600e-6, false}} {
		p := synth{rss: func(float64) float64 { return 50 * mib }, p99: func(sec float64) float64 {
			if sec < 60 {
				return base(sec)
			}
			return c.after
		}}
		d := New(Config{})
		_, fs := p.run(d, 90*time.Second, time.Second)
		f := find(fs, model.KindGCPauseRegression)
		if (f != nil) != c.fires {
			t.Errorf("p99 300 µs -> %v: finding %v, want %v", c.after, f, c.fires)
		}
		if f != nil {
			if r := f.Evidence["ratio"].(float64); r < 10 || r > 25 {
				t.Errorf("ratio %v", r)
			}
			t.Logf("%s", f.Summary)
		}
	}
}

func TestFDGrowth(t *testing.T) {
	p := synth{rss: func(float64) float64 { return 50 * mib }, fds: func(sec float64) int { return 20 + int(sec/2) }}
	d := New(Config{GrowthWindow: time.Minute})
	s, fs := p.run(d, 2*time.Minute, time.Second)
	if f := find(fs, model.KindFDGrowth); f == nil || s.FDs.SlopePerHour == nil || math.Abs(*s.FDs.SlopePerHour-1800) > 100 {
		t.Fatalf("findings %v, slope %v, want fd_growth at 1800/h", kinds(fs), s.FDs.SlopePerHour)
	}
}

// TestWarmupRampIsNotGrowth: RSS that ramps up and levels off (a process
// warming up) has a steep overall slope but must not count as growth.
func TestWarmupRampIsNotGrowth(t *testing.T) {
	d := New(Config{GrowthWindow: 20 * time.Second})
	var s series
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for i := 0; i <= 40; i++ {
		v := 20e6
		if i < 16 {
			v = 5e6 + float64(i)*1e6 // +1 MB per 0.5 s, then flat
		}
		s.add(t0.Add(time.Duration(i)*500*time.Millisecond), v, d.cfg.GrowthWindow)
	}
	f, ok := s.fit(d.cfg.GrowthWindow / 2)
	if !ok {
		t.Fatal("no fit")
	}
	if d.grows(f, ok, d.cfg.RSSGrowthThreshold, float64(d.cfg.GrowthMinBytes)) {
		t.Errorf("a levelled-off ramp counts as growth: %+v", f)
	}
	// A steady leak does.
	var l series
	for i := 0; i <= 40; i++ {
		l.add(t0.Add(time.Duration(i)*500*time.Millisecond), 5e6+float64(i)*1e6, d.cfg.GrowthWindow)
	}
	f, ok = l.fit(d.cfg.GrowthWindow / 2)
	if !d.grows(f, ok, d.cfg.RSSGrowthThreshold, float64(d.cfg.GrowthMinBytes)) {
		t.Errorf("a linear leak does not count as growth: %+v", f)
	}
}

// TestGoroutineCensusRepeats: the agent repeats its last census between two
// (Goroutines.Time stays); the repeats add no points to the fit.
func TestGoroutineCensusRepeats(t *testing.T) {
	d := New(Config{GrowthWindow: time.Minute})
	var census time.Time
	for sec := 0; sec <= 60; sec++ {
		s := synth{rss: func(float64) float64 { return 50 * mib }, goroutines: func(sec float64) int { return 100 + int(sec) }}.sample(float64(sec))
		if sec%10 == 0 {
			census = s.Time
		}
		s.Goroutines.Time = census
		s.Goroutines.Total = 100 + int(census.Sub(t0).Seconds())
		d.Update(s)
	}
	if n := len(d.grow.goroutines.pts); n != 7 {
		t.Errorf("%d points from 7 censuses", n)
	}
	f, ok := d.grow.goroutines.fit(0)
	if !ok || math.Abs(f.PerHour-3600) > 1e-6 || f.R2 < 0.999 {
		t.Errorf("fit %+v ok %v, want 3600/h with R² 1", f, ok)
	}
}
