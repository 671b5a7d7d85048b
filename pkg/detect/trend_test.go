package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// seriesOf builds a series of n samples every step from v(i).
func seriesOf(n int, step time.Duration, v func(i int) float64) (series, fit) {
	var s series
	for i := range n {
		s.add(t0.Add(time.Duration(i)*step), v(i), time.Hour)
	}
	f, _ := s.fit(0)
	return s, f
}

// TestIntervalCoverage: for a line plus stationary noise (white, and AR(1)
// with ρ 0.5 and 0.9), the 99 % interval holds the true slope in at least
// 97 % of 400 runs of 60 samples: it is not narrower than it claims.
func TestIntervalCoverage(t *testing.T) {
	const runs, n, slope = 400, 60, 3600.0 // slope: 1 per second
	for _, rho := range []float64{0, 0.5, 0.9} {
		r := rand.New(rand.NewPCG(11, uint64(rho*10)))
		covered, none := 0, 0
		for range runs {
			e := 0.0
			s, f := seriesOf(n, time.Second, func(i int) float64 {
				e = rho*e + math.Sqrt(1-rho*rho)*10*r.NormFloat64()
				return float64(i) + e
			})
			tr, ok := interval(s.pts, f, 0.99)
			switch {
			case !ok:
				none++
			case tr.Lo <= slope && slope <= tr.Hi:
				covered++
			}
		}
		t.Logf("ρ %.1f: the 99 %% interval holds the slope in %d of %d runs (%d without an interval)", rho, covered, runs-none, none)
		if runs-none < runs/2 || float64(covered) < 0.97*float64(runs-none) {
			t.Errorf("ρ %.1f: covered %d of %d runs with an interval (%d without)", rho, covered, runs-none, none)
		}
	}
}

// TestIntervalLevelShift: a flat series with one step up, or a ramp that
// levels off, has a clearly positive least-squares slope (R² up to 0.75)
// but no interval above zero.
func TestIntervalLevelShift(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	cases := map[string]func(i int) float64{
		"step":   func(i int) float64 { return 100 + 50*float64(i/30) + r.NormFloat64() },
		"warmup": func(i int) float64 { return 100 + 2*float64(min(i, 20)) + r.NormFloat64() },
		"two steps": func(i int) float64 {
			return 100 + 20*float64(min(1, i/20)) + 20*float64(min(1, i/45)) + r.NormFloat64()
		},
	}
	for name, v := range cases {
		s, f := seriesOf(60, time.Second, v)
		tr, ok := interval(s.pts, f, 0.99)
		t.Logf("%s: slope %.0f/h R² %.2f: interval [%.0f, %.0f] ok %v (n_eff %.1f)", name, f.PerHour, f.R2, tr.Lo, tr.Hi, ok, tr.NEff)
		if f.PerHour <= 0 {
			t.Fatalf("%s: slope %v", name, f.PerHour)
		}
		if ok && tr.Lo > 0 {
			t.Errorf("%s: interval [%v, %v] above zero", name, tr.Lo, tr.Hi)
		}
	}
	// A line with the same noise has one.
	s, f := seriesOf(60, time.Second, func(i int) float64 { return 100 + float64(i) + r.NormFloat64() })
	if tr, ok := interval(s.pts, f, 0.99); !ok || tr.Lo < 0.7*3600 || tr.Hi > 1.3*3600 {
		t.Errorf("line of 1/s: interval [%v, %v] ok %v, want about 3600/h", tr.Lo, tr.Hi, ok)
	}
}

// TestIntervalEdges: too few samples, an exact line, a flat series.
func TestIntervalEdges(t *testing.T) {
	s, f := seriesOf(10, time.Second, func(i int) float64 { return float64(i) })
	if _, ok := interval(s.pts, f, 0.99); ok {
		t.Error("an interval from 10 samples (6 blocks need 18)")
	}
	s, f = seriesOf(30, time.Second, func(i int) float64 { return 5 + 2*float64(i) })
	if tr, ok := interval(s.pts, f, 0.99); !ok || math.Abs(tr.Lo-7200) > 1e-6 || math.Abs(tr.Hi-7200) > 1e-6 {
		t.Errorf("exact line: %+v ok %v, want [7200, 7200]", tr, ok)
	}
	s, f = seriesOf(30, time.Second, func(int) float64 { return 5 })
	if tr, ok := interval(s.pts, f, 0.99); !ok || tr.Lo != 0 || tr.Hi != 0 {
		t.Errorf("flat: %+v ok %v", tr, ok)
	}
	for _, conf := range []float64{0, 1, -1, math.NaN()} {
		if _, ok := interval(s.pts, f, conf); ok {
			t.Errorf("an interval at confidence %v", conf)
		}
	}
}

// TestEarlyEvidence: an early finding says so and carries its interval;
// before GrowthMinWindow nothing fires; the finding stays on while the
// leak goes on, past the whole window.
func TestEarlyEvidence(t *testing.T) {
	p := synth{rss: noisy(linear(100*mib, 3600*mib), 0.2*mib, 4), heap: func(float64) float64 { return 10 * mib }}
	d := New(attachConfig())
	var first float64 = -1
	for sec := 0.0; sec <= 660; sec++ {
		s := p.sample(sec)
		f := find(d.Update(s), model.KindRSSGrowth)
		switch {
		case f == nil && first >= 0:
			t.Fatalf("rss_growth cleared at %.0f s", sec)
		case f == nil:
			continue
		case first < 0:
			first = sec
			if sec < 30 {
				t.Fatalf("rss_growth at %.0f s, before --growth-min-window", sec)
			}
			ci, _ := f.Evidence["slope_ci_bytes_per_hour"].([]float64)
			if f.Evidence["early"] != true || f.Evidence["confidence"] != 0.99 || len(ci) != 2 ||
				ci[0] < 10<<20 || ci[0] > 3600*mib || ci[1] < 3600*mib || f.Evidence["cause"] != CauseNonHeap {
				t.Errorf("evidence %v", f.Evidence)
			}
			if n, _ := f.Evidence["samples"].(int); n != int(sec)+1 {
				t.Errorf("samples %v at %.0f s", f.Evidence["samples"], sec)
			}
			t.Logf("at %.0f s: %s", sec, f.Summary)
		case sec == 600:
			if f.Evidence["early"] != false {
				t.Errorf("after a whole window: early %v", f.Evidence["early"])
			}
		}
	}
	if first < 0 || first > 35 {
		t.Errorf("a 1 MiB/s leak first found at %.0f s", first)
	}
}
