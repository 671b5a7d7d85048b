package detect

import (
	"math"
	"testing"
)

// BenchmarkUpdate: one Update of a detector whose growth window is full
// (10 min of samples every second: 600 points in each series), as the
// agent runs it for every watched process every --interval.
func BenchmarkUpdate(b *testing.B) {
	saw := func(sec float64) float64 { return 20*mib + 20*mib*math.Mod(sec, 37)/37 }
	p := synth{
		rss:        noisy(func(float64) float64 { return 60 * mib }, 3*mib, 8),
		heap:       saw,
		live:       func(float64) float64 { return 20 * mib },
		goroutines: func(sec float64) int { return 50 + int(sec)%7 },
		fds:        func(sec float64) int { return 12 + int(sec)%3 },
		finq:       func(float64) int64 { return 0 },
	}
	d := New(Config{})
	const warm = 600
	for sec := 0; sec < warm; sec++ {
		d.Update(p.sample(float64(sec)))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Update(p.sample(float64(warm + i)))
	}
}
