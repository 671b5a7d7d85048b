package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// steadyMinutes is how long TestGrowthEarly watches its steady targets:
// MEMSIGHT_STEADY_MINUTES (10 for the whole window), default 2.
func steadyMinutes(t *testing.T) int {
	v := os.Getenv("MEMSIGHT_STEADY_MINUTES")
	if v == "" {
		return 2
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("MEMSIGHT_STEADY_MINUTES=%q: want a positive number of minutes", v)
	}
	return n
}

// TestGrowthEarly: memsight attach with its default growth settings (a
// 10-min window, findings from 30 s on once the slope's 99 % interval clears
// the threshold) names a 1 MiB/s leak and its cause within 60 s of its
// first sample: the map target rss_growth caused by the Go heap, the mmap
// target rss_growth outside it, the goroutine target goroutine_growth at
// main.leakGoroutines (and, if RSS already grows clearly, rss_growth caused
// by goroutines). Steady targets show no finding while watched (2 min,
// MEMSIGHT_STEADY_MINUTES=10 for a whole window). Everything runs at once.
func TestGrowthEarly(t *testing.T) {
	testutil.RequireBPF(t)
	minutes := steadyMinutes(t)
	var steady, growing []*growthRun
	for _, v := range testutil.Matrix(testutil.Default) {
		// A fresh process's RSS creeps up for tens of seconds while its heap
		// and the scavenger settle (see TestGrowthClassification): the
		// steady targets are watched from 25 s on.
		steady = append(steady, startGrowthTarget(t, v, "steady", []string{"-warmup=25s"},
			[]string{"--duration", strconv.Itoa(minutes*60) + "s"}))
		for _, c := range []struct{ mode, rate string }{
			{"map", "1048576"}, {"mmap", "1048576"}, {"goroutines", "500"},
		} {
			growing = append(growing, startGrowthTarget(t, v, c.mode, []string{"-rate=" + c.rate, "-warmup=500ms"}, nil))
		}
	}
	for _, g := range append(growing, steady...) {
		g.attach(t)
	}
	for _, g := range growing {
		t.Run(g.name, func(t *testing.T) {
			defer g.stop()
			g.a.attached(t)
			kind := map[string]string{"map": "rss_growth", "mmap": "rss_growth", "goroutines": "goroutine_growth"}[g.mode]
			s := g.a.waitSample(t, 120*time.Second, kind, func(s model.Sample) bool { return hasFinding(s, kind) != nil })
			f := hasFinding(s, kind)
			first := g.a.all()[0]
			after := s.Time.Sub(first.Time)
			t.Logf("%s %v after the first sample (%v samples): %s", kind, after.Round(time.Millisecond), f.Evidence["samples"], f.Summary)
			if after > 60*time.Second {
				t.Errorf("%s %v after the first sample, want within 60 s", kind, after)
			}
			ci, _ := f.Evidence["slope_ci_bytes_per_hour"].([]any)
			if kind == "goroutine_growth" {
				ci, _ = f.Evidence["slope_ci_per_hour"].([]any)
			}
			if f.Evidence["early"] != true || f.Evidence["confidence"] != 0.99 || len(ci) != 2 {
				t.Errorf("evidence of an early finding: %v", f.Evidence)
			}
			switch g.mode {
			case "map", "mmap":
				want := map[string]string{"map": "go_heap", "mmap": "non_heap"}[g.mode]
				if f.Evidence["cause"] != want {
					t.Errorf("rss_growth cause %v, want %s: %s", f.Evidence["cause"], want, f.Summary)
				}
			default:
				if !strings.Contains(f.Summary, "main.leakGoroutines") {
					t.Errorf("goroutine_growth does not name main.leakGoroutines: %s", f.Summary)
				}
				if r := hasFinding(s, "rss_growth"); r != nil && r.Evidence["cause"] != "goroutines" {
					t.Errorf("rss_growth of a goroutine leak with cause %v: %s", r.Evidence["cause"], r.Summary)
				}
			}
		})
	}
	for _, g := range steady {
		t.Run(g.name, func(t *testing.T) {
			g.a.wait(t, time.Duration(minutes)*time.Minute+60*time.Second)
			ss := g.a.all()
			if len(ss) < minutes*60*3/4 { // one a second, fewer when the CPUs are busy
				t.Fatalf("only %d samples in %d min", len(ss), minutes)
			}
			for _, s := range ss {
				if len(s.Findings) != 0 {
					t.Errorf("sample at %s: findings %v: %s", s.Time.Format("15:04:05.000"), findingKinds(s), s.Findings[0].Summary)
					break
				}
			}
			last := ss[len(ss)-1]
			if last.RSS.SlopeBytesPerHour == nil {
				t.Fatalf("no RSS slope after %d min", minutes)
			}
			t.Logf("%d samples over %v, no finding; RSS %d B, trend %.0f B/h (R² %.2f)",
				len(ss), last.Time.Sub(ss[0].Time).Round(time.Second), last.RSSBytes, *last.RSS.SlopeBytesPerHour, *last.RSS.R2)
		})
	}
}
