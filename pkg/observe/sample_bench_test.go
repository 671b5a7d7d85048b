package observe_test

import (
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/testutil"
)

// BenchmarkSample measures one sample of an idle process, the agent's
// per-process cost each interval: an idle target, and one with 500
// goroutines parked on a channel (a server's worker pool).
//
//	go test -run '^$' -bench Sample -cpuprofile cpu.out ./pkg/observe
func BenchmarkSample(b *testing.B) {
	v := testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}
	for _, tc := range []struct {
		name, target string
		args         []string
		ready        string
		slow         time.Duration
	}{
		{"idle", "idle", nil, "READY ", 0},
		{"500-goroutines", "goleak", []string{"-rate=20000", "-max=500"}, "STEADY ", 0},
		// Between the agent's costly reads (SlowEvery): only the cheap ones.
		{"cheap-idle", "idle", nil, "READY ", time.Hour},
		{"cheap-500-goroutines", "goleak", []string{"-rate=20000", "-max=500"}, "STEADY ", time.Hour},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tg := testutil.StartTarget(b, testutil.BuildTarget(b, tc.target, v), tc.args...)
			tg.WaitLine(b, tc.ready, 20*time.Second)
			procs, err := process.New(process.Config{})
			if err != nil {
				b.Fatal(err)
			}
			cache := goexe.NewCache(1)
			defer cache.Close()
			s, err := observe.Attach(observe.AttachConfig{PID: tg.Pid, Procs: procs, Cache: cache, SlowEvery: tc.slow})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			det := detect.New(detect.Defaults())
			b.ReportAllocs()
			for b.Loop() {
				smp, err := s.Sample()
				if err != nil {
					b.Fatal(err)
				}
				smp.Findings = det.Update(smp)
			}
		})
	}
}
