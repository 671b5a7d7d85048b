package prom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/model"
)

// pauseHistogram is a process's GC pause histogram as a const histogram.
func pauseHistogram(desc *prometheus.Desc, h *model.PauseHistogram, labels []string) prometheus.Metric {
	n := min(len(h.UpperBoundsSeconds), len(h.CumulativeCounts))
	buckets := make(map[float64]uint64, n)
	for i := range n {
		buckets[h.UpperBoundsSeconds[i]] = h.CumulativeCounts[i]
	}
	return prometheus.MustNewConstHistogram(desc, h.Count, h.SumSeconds, buckets, labels...)
}

// programs emits the run count and run time of each BPF program (none
// while the kernel's BPF statistics are off).
func (c *collector) programs(ch chan<- prometheus.Metric, ps map[string]model.ProgramStats) {
	for _, name := range union(nil, ps) {
		s := ps[name]
		ch <- prometheus.MustNewConstMetric(c.d.programRuns, prometheus.CounterValue, float64(s.Runs), name)
		ch <- prometheus.MustNewConstMetric(c.d.programRunTime, prometheus.CounterValue, s.RunTime.Seconds(), name)
	}
}
