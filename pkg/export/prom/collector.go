package prom

import (
	"math"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/model"
)

// collector builds every memsight metric from one Snapshot per scrape.
type collector struct {
	src          Source
	kinds        []string
	attachErrors []string
	build        BuildInfo
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
		if p.State == model.StateWatching && p.Sample != nil {
			c.process(ch, p, p.Sample)
		}
	}
	c.self(ch, snap.Stats)
}

func (c *collector) process(ch chan<- prometheus.Metric, p model.Process, s *model.Sample) {
	lv := []string{strconv.Itoa(p.PID), p.Comm, or(p.Container, p.ContainerID), or(p.Pod, p.PodUID), p.Namespace}
	d := c.d
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append(lv, extra...)...)
	}
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, lv...)
	}
	gauge(d.info, 1, buildLabels(p)...)
	gauge(d.rss, float64(s.RSSBytes))
	if s.FDs.Open >= 0 {
		gauge(d.fds, float64(s.FDs.Open))
	}
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
	if h := s.Heap; h != nil {
		gauge(d.heapInuse, float64(h.InuseBytes))
		gauge(d.heapLive, float64(h.LiveBytes))
		if h.GoalBytes > 0 { // 0: unknown (the runtime's goal is at least 4 MiB)
			gauge(d.heapGoal, float64(h.GoalBytes))
		}
		if h.MemoryLimitBytes > 0 && h.MemoryLimitBytes != math.MaxInt64 {
			gauge(d.memLimit, float64(h.MemoryLimitBytes))
		}
	}
	if s.Goroutines != nil {
		gauge(d.goroutines, float64(s.Goroutines.User))
	}
	if l := s.GoroutineLeaks; l != nil {
		gauge(d.leaked, float64(l.Leaked))
		gauge(d.leakedPinned, float64(l.BytesPinnedEstimate))
	}
	c.findings(gauge, s.Findings)
}

// findings emits memsight_finding_active and memsight_finding_severity for
// every known kind (0 while inactive, so that alerts see a 0 before a 1),
// and for any other kind while it is active.
func (c *collector) findings(gauge func(*prometheus.Desc, float64, ...string), fs []model.Finding) {
	sev := make(map[string]float64, len(fs))
	for _, f := range fs {
		sev[f.Kind] = max(sev[f.Kind], severityValue(f.Severity))
	}
	emit := func(k string) {
		active := 0.0
		if _, ok := sev[k]; ok {
			active = 1
		}
		gauge(c.d.finding, active, k)
		gauge(c.d.severity, sev[k], k)
	}
	for _, k := range c.kinds {
		emit(k)
	}
	for _, k := range union(nil, sev) {
		if !slices.Contains(c.kinds, k) {
			emit(k)
		}
	}
}

// severityValue is memsight_finding_severity's value of an active finding:
// 2 critical, 1 warning (or anything else: active is at least a warning).
func severityValue(s string) float64 {
	if s == model.SeverityCritical {
		return 2
	}
	return 1
}

// buildLabels are memsight_process_info's values after the process labels.
func buildLabels(p model.Process) []string {
	if p.Build == nil {
		return []string{p.GoVersion, "", "", ""}
	}
	b := p.Build
	return []string{p.GoVersion, strconv.FormatBool(b.PIE), strconv.FormatBool(b.Stripped), strconv.FormatBool(b.Cgo)}
}

func (c *collector) self(ch chan<- prometheus.Metric, st model.Stats) {
	d := c.d
	ch <- prometheus.MustNewConstMetric(d.build, prometheus.GaugeValue, 1, c.build.Version, c.build.Revision, c.build.GoVersion)
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
