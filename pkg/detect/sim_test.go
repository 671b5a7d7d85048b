package detect

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// A simulated Go process for the early-detection sweeps: realistic noise
// on every series, plus an optional leak. All randomness comes from the
// seed, so every run is reproducible.
type simProc struct {
	// Leak rates, per second, from second 0 on.
	heapLeak   float64 // live heap (and so heap in use and RSS): a map that grows
	mmapLeak   float64 // RSS only: cgo or mmap'd memory
	goLeak     float64 // goroutines (each adds goStack bytes of RSS)
	fdLeak     float64 // open fds
	rssNoise   float64 // scale of RSS noise (bytes), default 2 MiB
	swing      bool    // add slow load swings (τ 2 min) to RSS, heap and goroutines
	warmupRamp float64 // bytes of RSS the process gains over its first 12 s
	// gcPeriod is the time between GC cycles at the start (0: random,
	// 1.5 s to 30 s); a heap leak makes cycles rarer as the heap grows.
	gcPeriod float64
}

const goStack = 8 << 10

// simulate returns one sample per step over dur. The noise:
//   - heap in use is a GC sawtooth over the live heap: garbage piles up at
//     an allocation rate that wanders ±30 % (a cycle every 1.5 s to 30 s)
//     and drops at each cycle, which ends within ±3 % of the goal (GOGC
//     100 %; sampled every second, a fast sawtooth aliases into slow
//     waves); the live heap is what the last cycle marked (a staircase);
//   - RSS follows the heap's peaks (pages once touched stay resident; the
//     scavenger returns what exceeds 110 % of the heap goal, τ 60 s), plus steps of about
//     rssNoise up and down at random (arenas, cgo caches), each decaying
//     with τ 2 min, plus ±rssNoise/8 of jitter;
//   - goroutines: a base plus a Poisson number of in-flight requests
//     (mean 30) plus bursts;
//   - fds: a base plus a Poisson number of connections (mean 5).
func (p simProc) simulate(seed uint64, dur, step time.Duration) []*model.Sample {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	noise := p.rssNoise
	if noise == 0 {
		noise = 2 << 20
	}
	baseLive := 20e6 + 40e6*r.Float64()
	// The allocation rate: a GC cycle every 1.5 s to 30 s at first.
	period := 1.5 + 28.5*r.Float64()
	if p.gcPeriod > 0 {
		period = p.gcPeriod
	}
	alloc0 := baseLive / period
	live, garbage := baseLive, 0.0
	goal := 2 * live
	rssBase := baseLive*2.2 + 10e6
	resident := goal                       // heap pages resident
	var steps, swing, gSwing, load float64 // decaying RSS steps, load swings
	var out []*model.Sample
	dt := step.Seconds()
	for t := 0.0; t <= dur.Seconds(); t += dt {
		// The load swing: an Ornstein-Uhlenbeck process, τ 120 s.
		if p.swing {
			a := math.Exp(-dt / 120)
			swing = swing*a + math.Sqrt(1-a*a)*0.08*baseLive*r.NormFloat64()
			gSwing = gSwing*a + math.Sqrt(1-a*a)*8*r.NormFloat64()
		}
		// The allocation rate wanders ±30 % (τ 30 s).
		a := math.Exp(-dt / 30)
		load = load*a + math.Sqrt(1-a*a)*0.3*r.NormFloat64()
		garbage += alloc0 * max(0.1, 1+load) * dt
		// The pacer triggers a cycle so that it ends near the goal.
		if live+garbage >= goal*(0.97+0.06*r.Float64()) {
			live = baseLive + p.heapLeak*t + swing + 0.01*baseLive*r.NormFloat64()
			garbage = 0
			goal = 2 * live
		}
		inuse := live + garbage
		// Resident heap pages: up at once; the scavenger returns what
		// exceeds 110 % of the heap goal, slowly.
		if keep := 1.1 * 2 * live; resident > keep {
			resident = keep + (resident-keep)*math.Exp(-dt/60)
		}
		resident = max(resident, inuse)
		if r.Float64() < dt/45 {
			steps += noise * r.NormFloat64()
		}
		steps *= math.Exp(-dt / 120)
		gor := 40 + p.goLeak*t + gSwing + float64(poisson(r, 30))
		if r.Float64() < dt/20 {
			gor += float64(r.IntN(40))
		}
		rss := rssBase + (resident - 2*baseLive) + steps + p.mmapLeak*t + p.goLeak*t*goStack + noise/8*(2*r.Float64()-1)
		if p.warmupRamp > 0 {
			rss += p.warmupRamp * min(t/12, 1)
		}
		s := &model.Sample{
			Time:     t0.Add(time.Duration(t * float64(time.Second))),
			RSSBytes: uint64(max(rss, 1)),
			Heap:     &model.Heap{InuseBytes: uint64(max(inuse, 0)), LiveBytes: uint64(max(live, 0)), GoalBytes: uint64(max(goal, 0))},
			Goroutines: &model.Goroutines{Total: int(max(gor, 1)), User: int(max(gor-5, 1)),
				TopCreationSites: []model.SiteCount{{Function: "main.handle", File: "/src/main.go", Line: 7, Count: int(max(gor-10, 0))}}},
			FDs: model.FDs{Open: 10 + int(p.fdLeak*t) + poisson(r, 5)},
		}
		q := int64(poisson(r, 3))
		s.Finalizers.QueueLength = &q
		out = append(out, s)
	}
	return out
}

// poisson draws a Poisson variate (Knuth's method; small means only).
func poisson(r *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// firstFiring feeds samples to a new detector and returns the seconds from
// the first sample to the first one with a finding of kind (and cause, for
// rss_growth, when cause is not ""), or -1.
func firstFiring(cfg Config, ss []*model.Sample, kind, cause string) (sec float64, f *model.Finding) {
	d := New(cfg)
	for _, s := range ss {
		for _, fnd := range d.Update(s) {
			if fnd.Kind == kind && (cause == "" || fnd.Evidence["cause"] == cause) {
				return s.Time.Sub(ss[0].Time).Seconds(), &fnd
			}
		}
	}
	return -1, nil
}

// anyFinding feeds samples to a new detector and returns the first growth
// finding of any kind (nil: none) and when it fired.
func anyFinding(cfg Config, ss []*model.Sample) (sec float64, f *model.Finding) {
	d := New(cfg)
	for _, s := range ss {
		for _, fnd := range d.Update(s) {
			switch fnd.Kind {
			case model.KindRSSGrowth, model.KindHeapGrowth, model.KindGoroutineGrowth, model.KindFDGrowth:
				return s.Time.Sub(ss[0].Time).Seconds(), &fnd
			}
		}
	}
	return -1, nil
}
