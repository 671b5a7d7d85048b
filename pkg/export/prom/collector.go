package prom

import (
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/observe"
)

// collector builds every memsight metric from one Snapshot per scrape.
type collector struct {
	src          Source
	kinds        []string
	attachErrors []string
	d            *descs
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Snapshot()
	for _, p := range snap.Processes {
		if p.State == agent.StateWatching && p.Sample != nil {
			c.process(ch, p, p.Sample)
		}
	}
	c.self(ch, snap.Stats)
}

func (c *collector) process(ch chan<- prometheus.Metric, p agent.Process, s *observe.Sample) {
	lv := []string{strconv.Itoa(p.PID), p.Comm, p.GoVersion, or(p.Container, p.ContainerID), or(p.Pod, p.PodUID), p.Namespace}
	d := c.d
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append(lv, extra...)...)
	}
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, lv...)
	}
	gauge(d.rss, float64(s.RSSBytes))
	if q := s.Finalizers.QueueLength; q != nil {
		gauge(d.finQueue, float64(*q))
	}
	if v := s.Finalizers.QueuedTotal; v != nil {
		counter(d.finQueued, float64(*v))
	}
	if v := s.Finalizers.ExecutedTotal; v != nil {
		counter(d.finExecuted, float64(*v))
	}
	running := 0.0
	if r := s.Finalizers.Running; r != nil {
		running = r.Seconds
	}
	gauge(d.finRunning, running)
	if q := s.Cleanups.QueueLength; q != nil {
		gauge(d.cleanupQueue, float64(*q))
	}
	if s.GC != nil {
		counter(d.gcCycles, float64(s.GC.CyclesTotal))
		if h := s.GC.PauseHistogram; h != nil {
			ch <- pauseHistogram(d.gcPauses, h, lv)
		}
	}
	if s.Heap != nil {
		gauge(d.heapInuse, float64(s.Heap.InuseBytes))
	}
	if s.Goroutines != nil {
		gauge(d.goroutines, float64(s.Goroutines.User))
	}
	active := make(map[string]bool, len(s.Findings))
	for _, f := range s.Findings {
		active[f.Kind] = true
	}
	for _, k := range c.kinds {
		v := 0.0
		if active[k] {
			v = 1
		}
		gauge(d.finding, v, k)
	}
	// A kind the exporter was not told about still shows while active.
	for _, f := range s.Findings {
		if !slices.Contains(c.kinds, f.Kind) {
			gauge(d.finding, 1, f.Kind)
		}
	}
}

func (c *collector) self(ch chan<- prometheus.Metric, st agent.Stats) {
	d := c.d
	ch <- prometheus.MustNewConstMetric(d.watched, prometheus.GaugeValue, float64(st.Watched))
	ch <- prometheus.MustNewConstMetric(d.binaries, prometheus.GaugeValue, float64(st.Binaries))
	for _, r := range union(c.attachErrors, st.AttachErrors) {
		ch <- prometheus.MustNewConstMetric(d.attachErrors, prometheus.CounterValue, float64(st.AttachErrors[r]), r)
	}
	for _, r := range union(nil, st.Skipped) {
		ch <- prometheus.MustNewConstMetric(d.skipped, prometheus.GaugeValue, float64(st.Skipped[r]), r)
	}
	ch <- prometheus.MustNewConstMetric(d.sampleErrors, prometheus.CounterValue, float64(st.SampleErrors))
	ch <- prometheus.MustNewConstMetric(d.eventsLost, prometheus.CounterValue, float64(st.EventsLost))
	ready := 0.0
	if st.Ready {
		ready = 1
	}
	ch <- prometheus.MustNewConstMetric(d.ready, prometheus.GaugeValue, ready)
	exec := 0.0
	if st.ExecEvents {
		exec = 1
	}
	ch <- prometheus.MustNewConstMetric(d.execEvents, prometheus.GaugeValue, exec)
	c.programs(ch, st.Programs)
}

// union returns the keys of m and the names in base, sorted, without duplicates.
func union[V any](base []string, m map[string]V) []string {
	out := slices.Clone(base)
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// or returns name, or id when the name is not known (outside Kubernetes,
// or before the pod informer has seen the pod).
func or(name, id string) string {
	if name != "" {
		return name
	}
	return id
}
