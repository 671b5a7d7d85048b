package detect

import (
	"fmt"
	"slices"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// minPausesForP99: below this many pauses in the runtime's ring a 99th
// percentile is just the longest pause, and one slow pause would look like a
// regression.
const minPausesForP99 = 100

// pauseRegression: the p99 GC stop-the-world pause (over the runtime's last
// 256 pauses) is GCPauseFactor times its own baseline, the median p99 of the
// first GCPauseBaselineSamples samples, and at least GCPauseFloor. Only
// samples of a process with at least minPausesForP99 GC cycles count; until
// the baseline is complete nothing fires.
func (d *Detector) pauseRegression(s *model.Sample) *model.Finding {
	if s.GC == nil || s.GC.CyclesTotal < minPausesForP99 {
		return nil
	}
	g, c := &d.grow, d.cfg
	p99 := s.GC.STWPauseP99Seconds
	if len(g.pauseBase) < c.GCPauseBaselineSamples {
		g.pauseBase = append(g.pauseBase, p99)
		return nil
	}
	base := median(g.pauseBase)
	if p99 < c.GCPauseFloor.Seconds() || p99 < c.GCPauseFactor*base {
		return nil
	}
	ratio := 0.0
	if base > 0 {
		ratio = p99 / base
	}
	return &model.Finding{
		Severity: model.SeverityWarning,
		Summary: fmt.Sprintf("GC pause p99 %s is %.1f× its baseline %s (last pause %s, %d cycles)",
			fmtSeconds(p99), ratio, fmtSeconds(base), fmtSeconds(s.GC.LastPauseSeconds), s.GC.CyclesTotal),
		Evidence: map[string]any{
			"p99_seconds":          p99,
			"baseline_p99_seconds": base,
			"ratio":                ratio,
			"factor":               c.GCPauseFactor,
			"last_pause_seconds":   s.GC.LastPauseSeconds,
			"cycles_total":         s.GC.CyclesTotal,
		},
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtSeconds(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Microsecond).String()
}
