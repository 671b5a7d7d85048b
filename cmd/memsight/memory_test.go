package main

import (
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// growthRun is one memgrow target watched by memsight attach.
type growthRun struct {
	name, mode string
	attachArgs []string
	tg         *testutil.Target
	a          *attachRun
}

// startTarget starts memgrow in a mode; attach starts memsight on it once
// the target is ready.
func startGrowthTarget(t *testing.T, v testutil.Variant, mode string, targetArgs, attachArgs []string) *growthRun {
	t.Helper()
	exe := testutil.BuildTarget(t, "memgrow", v)
	tg := testutil.StartTarget(t, exe, append([]string{"-mode=" + mode}, targetArgs...)...)
	return &growthRun{name: v.String() + "/" + mode, mode: mode, attachArgs: attachArgs, tg: tg}
}

func (g *growthRun) attach(t *testing.T) {
	t.Helper()
	g.tg.WaitLine(t, "READY", 60*time.Second)
	g.a = startAttach(t, g.tg.Pid, g.attachArgs...)
}

// stop ends memsight and the target early, to leave the CPUs to the others.
func (g *growthRun) stop() {
	_ = g.a.cmd.Process.Kill()
	_ = g.tg.Cmd.Process.Kill()
}

// TestGrowthClassification runs every memgrow mode at once, each watched by
// its own memsight with a short growth window, then checks each: the map
// target is rss_growth caused by the Go heap, the mmap target rss_growth
// outside it, the goroutine target goroutine_growth naming the function
// with the go statement; at a quiet moment the GC and heap numbers equal the
// target's ReadMemStats; and a steady target shows no finding at all in
// 60 s. The targets run concurrently (the subtests only check), so the test
// takes about as long as the steady run.
func TestGrowthClassification(t *testing.T) {
	testutil.RequireBPF(t)
	fast := []string{"--interval", "250ms", "--growth-window", "8s"}
	var steady, growing []*growthRun
	for _, v := range testutil.Matrix(testutil.Default) {
		// A fresh process's RSS keeps creeping up for tens of seconds while
		// its heap and the scavenger settle (seen under CI load: +3 MiB over
		// 20 s after a 6 s warm-up), which a 20 s window rightly calls growth.
		// The steady check starts after that.
		steady = append(steady, startGrowthTarget(t, v, "steady", []string{"-warmup=25s"},
			[]string{"--duration", "60s", "--interval", "500ms", "--growth-window", "20s"}))
	}
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		for _, mode := range []string{"map", "mmap", "goroutines"} {
			rate := "-rate=4194304"
			if mode == "goroutines" {
				rate = "-rate=500"
			}
			growing = append(growing, startGrowthTarget(t, v, mode, []string{rate, "-warmup=500ms"}, fast))
		}
	}
	for _, g := range append(growing, steady...) {
		g.attach(t)
	}
	for _, g := range growing {
		t.Run(g.name, func(t *testing.T) {
			defer g.stop()
			g.a.attached(t)
			checkGrowth(t, g)
			checkTruth(t, g)
		})
	}
	for _, g := range steady {
		t.Run(g.name, func(t *testing.T) {
			g.a.wait(t, 90*time.Second)
			ss := g.a.all()
			if len(ss) < 90 { // 120 at 500 ms, fewer when the CPUs are busy
				t.Fatalf("only %d samples in 60 s", len(ss))
			}
			slopes := 0
			for _, s := range ss {
				if len(s.Findings) != 0 {
					t.Errorf("sample at %s: findings %v: %s", s.Time.Format("15:04:05.000"), findingKinds(s), s.Findings[0].Summary)
				}
				if s.RSS.SlopeBytesPerHour != nil {
					slopes++
				}
			}
			last := ss[len(ss)-1]
			if slopes == 0 || last.GC == nil || last.Heap == nil || last.GC.CyclesTotal == 0 {
				t.Fatalf("steady target: %d samples with an RSS slope; last GC %+v heap %+v", slopes, last.GC, last.Heap)
			}
			t.Logf("%d samples, no finding; RSS %d B trend %.0f B/h (R² %.2f), heap in use %d B, %d GC cycles, p99 %.6f s",
				len(ss), last.RSSBytes, *last.RSS.SlopeBytesPerHour, *last.RSS.R2, last.Heap.InuseBytes, last.GC.CyclesTotal, last.GC.STWPauseP99Seconds)
		})
	}
}

// checkGrowth waits for the finding a growing target must produce.
func checkGrowth(t *testing.T, g *growthRun) {
	t.Helper()
	switch g.mode {
	case "map", "mmap":
		want := map[string]string{"map": "go_heap", "mmap": "non_heap"}[g.mode]
		s := g.a.waitSample(t, 30*time.Second, "rss_growth", func(s model.Sample) bool { return hasFinding(s, "rss_growth") != nil })
		f := hasFinding(s, "rss_growth")
		if f.Evidence["cause"] != want {
			t.Errorf("rss_growth cause %v, want %s: %s", f.Evidence["cause"], want, f.Summary)
		}
		if g.mode == "mmap" && hasFinding(s, "heap_growth") != nil {
			t.Errorf("mmap growth reported as heap_growth")
		}
		if s.RSS.SlopeBytesPerHour == nil || s.Heap == nil || s.Heap.SlopeBytesPerHour == nil {
			t.Errorf("slopes missing: RSS %v heap %+v", s.RSS.SlopeBytesPerHour, s.Heap)
		}
		t.Logf("%s after %v: %s", f.Kind, s.Time.Sub(g.a.started).Round(time.Millisecond), f.Summary)
	default: // goroutines
		s := g.a.waitSample(t, 30*time.Second, "goroutine_growth", func(s model.Sample) bool { return hasFinding(s, "goroutine_growth") != nil })
		f := hasFinding(s, "goroutine_growth")
		if !strings.Contains(f.Summary, "main.leakGoroutines") {
			t.Errorf("goroutine_growth does not name main.leakGoroutines, whose go statement leaks: %s", f.Summary)
		}
		t.Logf("%s after %v: %s", f.Kind, s.Time.Sub(g.a.started).Round(time.Millisecond), f.Summary)
		if r := hasFinding(s, "rss_growth"); r != nil && r.Evidence["cause"] != "goroutines" {
			t.Errorf("rss_growth of a goroutine leak with cause %v: %s", r.Evidence["cause"], r.Summary)
		}
	}
}

// checkTruth pauses the target and compares the sample memsight took while
// it was quiet with the target's own runtime.ReadMemStats.
func checkTruth(t *testing.T, g *growthRun) {
	t.Helper()
	if err := g.tg.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	want := testutil.ParseMemTruth(t, g.tg.WaitLine(t, "TRUTH ", 20*time.Second))
	at := time.Now()
	s := g.a.waitSample(t, 5*time.Second, "a sample after TRUTH", func(s model.Sample) bool { return s.Time.After(at) })
	if s.Time.Sub(at) > 1500*time.Millisecond {
		t.Fatalf("sample %v after TRUTH: the target may have resumed", s.Time.Sub(at))
	}
	if s.GC == nil || s.Heap == nil {
		t.Fatalf("no GC or heap in the sample: unknown %v", s.Unknown)
	}
	if s.GC.CyclesTotal != want.NumGC {
		t.Errorf("gc.cycles_total %d, runtime.NumGC %d", s.GC.CyclesTotal, want.NumGC)
	}
	pause := s.GC.STWPauseSecondsTotal * 1e9
	pauseErr := 100 * math.Abs(pause-float64(want.PauseTotal)) / math.Max(float64(want.PauseTotal), 1)
	if pauseErr > 5 {
		t.Errorf("gc.stw_pause_seconds_total %.9f, PauseTotalNs %d (%.2f %%)", s.GC.STWPauseSecondsTotal, want.PauseTotal, pauseErr)
	}
	heapErr := 100 * math.Abs(float64(s.Heap.InuseBytes)-float64(want.HeapInuse)) / float64(want.HeapInuse)
	if heapErr > 2 {
		t.Errorf("heap.inuse_bytes %d, HeapInuse %d (%.2f %%)", s.Heap.InuseBytes, want.HeapInuse, heapErr)
	}
	// Cycles the probes saw since attach match numgc's growth since the
	// first sample (plus at most a cycle ending between attach and it).
	first := g.a.all()[0]
	if first.GC != nil {
		d := s.GC.CyclesTotal - first.GC.CyclesTotal
		if s.GC.CyclesSinceAttach < d || s.GC.CyclesSinceAttach > d+2 {
			t.Errorf("cycles since attach %d, numgc grew by %d", s.GC.CyclesSinceAttach, d)
		}
	}
	t.Logf("at the pause: numgc %d = %d, pause total %.3f ms vs %.3f ms (%.3f %%), heap in use %d vs %d (%.3f %%), %d cycles and %d STW pauses since attach",
		s.GC.CyclesTotal, want.NumGC, pause/1e6, float64(want.PauseTotal)/1e6, pauseErr, s.Heap.InuseBytes, want.HeapInuse, heapErr,
		s.GC.CyclesSinceAttach, s.GC.STWPausesSinceAttach)
}
