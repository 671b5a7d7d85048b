package detect

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Config holds the thresholds. Zero values take the defaults.
type Config struct {
	// StallThreshold: a finalizer or cleanup running longer than this is stuck (default 2s).
	StallThreshold time.Duration
	// BacklogAccel: the second difference of the queue length, in
	// finalizers/s², above which growth is accelerating (default 0.8).
	BacklogAccel float64
	// BacklogAccelSamples: how many consecutive samples must exceed BacklogAccel (default 3).
	BacklogAccelSamples int
	// BacklogWindow: a queue growing monotonically for this long is a backlog (default 30s).
	BacklogWindow time.Duration
	// BacklogMinQueue: below this queue length nothing is a backlog (default
	// 101, one finBlock: the runtime's own counting granularity).
	BacklogMinQueue int64

	// GrowthWindow: growth slopes are least-squares fits over the samples of
	// this window; they appear on samples once the samples span half of it
	// (or GrowthMinWindow, if shorter), and growth findings fire when they
	// span 9/10 of it (default 10m), or earlier on GrowthConfidence.
	GrowthWindow time.Duration
	// GrowthMinWindow and GrowthConfidence: before 9/10 of a GrowthWindow
	// is sampled, a growth finding fires once the samples span
	// GrowthMinWindow and the slope's confidence interval at
	// GrowthConfidence (two-sided; robust to autocorrelated samples and
	// level shifts, see trend) lies above the threshold (defaults 5m and
	// 0.99; memsight attach uses 30s). A GrowthMinWindow of at least 9/10 of
	// GrowthWindow turns this off.
	GrowthMinWindow  time.Duration
	GrowthConfidence float64
	// GrowthMinR2: a growth finding needs a fit with R² at least this (default 0.8).
	GrowthMinR2 float64
	// RSSGrowthThreshold and HeapGrowthThreshold, in bytes per hour:
	// rss_growth and heap_growth fire above them (default 10 MiB/h each).
	RSSGrowthThreshold  float64
	HeapGrowthThreshold float64
	// GoroutineGrowthThreshold and FDGrowthThreshold, per hour:
	// goroutine_growth and fd_growth fire above them (default 200/h, 100/h).
	GoroutineGrowthThreshold float64
	FDGrowthThreshold        float64
	// GrowthMinBytes and GrowthMinCount: a growth finding also needs the
	// fitted rise over the window to reach this many bytes (RSS, heap;
	// default 1 MiB) or goroutines/fds (default 10), so short windows do
	// not turn noise into a rate.
	GrowthMinBytes uint64
	GrowthMinCount int
	// GCPauseFactor: gc_pause_regression fires when the p99 GC pause is this
	// many times its baseline (default 3), and at least GCPauseFloor (default
	// 1ms). The baseline is the median p99 of the first
	// GCPauseBaselineSamples samples with a GC cycle (default 10).
	GCPauseFactor          float64
	GCPauseFloor           time.Duration
	GCPauseBaselineSamples int
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		StallThreshold:      2 * time.Second,
		BacklogAccel:        0.8,
		BacklogAccelSamples: 3,
		BacklogWindow:       30 * time.Second,
		BacklogMinQueue:     101,

		GrowthWindow:             10 * time.Minute,
		GrowthMinWindow:          5 * time.Minute,
		GrowthConfidence:         0.99,
		GrowthMinR2:              0.8,
		RSSGrowthThreshold:       10 << 20,
		HeapGrowthThreshold:      10 << 20,
		GoroutineGrowthThreshold: 200,
		FDGrowthThreshold:        100,
		GrowthMinBytes:           1 << 20,
		GrowthMinCount:           10,
		GCPauseFactor:            3,
		GCPauseFloor:             time.Millisecond,
		GCPauseBaselineSamples:   10,
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.StallThreshold <= 0 {
		c.StallThreshold = d.StallThreshold
	}
	if c.BacklogAccel <= 0 {
		c.BacklogAccel = d.BacklogAccel
	}
	if c.BacklogAccelSamples <= 0 {
		c.BacklogAccelSamples = d.BacklogAccelSamples
	}
	if c.BacklogWindow <= 0 {
		c.BacklogWindow = d.BacklogWindow
	}
	if c.BacklogMinQueue <= 0 {
		c.BacklogMinQueue = d.BacklogMinQueue
	}
	c.growthDefaults(d)
	return c
}

// Detector holds the history of one process.
type Detector struct {
	cfg    Config
	active map[string]*model.Finding
	queue  []point // finalizer queue length history, oldest first
	accel  int     // consecutive samples with second difference > BacklogAccel
	// parkedQueue is the queue length when the finalizer goroutine was last
	// seen parked with work queued, -1 otherwise.
	parkedQueue int64
	grow        growthState // growth series and the GC pause baseline
}

type point struct {
	t time.Time
	q int64
}

// New returns a detector for one process.
func New(cfg Config) *Detector {
	return &Detector{cfg: cfg.withDefaults(), active: map[string]*model.Finding{}, parkedQueue: -1}
}

// Update feeds one sample and returns the findings active after it, sorted
// by kind. It also fills the sample's growth slopes (RSS.SlopeBytesPerHour
// and R2, Heap.SlopeBytesPerHour, Goroutines.SlopePerHour,
// FDs.SlopePerHour) once the growth window is half full.
func (d *Detector) Update(s *model.Sample) []model.Finding {
	now := s.Time
	fin := d.stall(s.Finalizers.Running, s.Finalizers.QueueLength, "finalizer")
	if fin == nil {
		fin = d.parked(s.Finalizers)
	}
	d.set(model.KindFinalizerStall, now, fin)
	d.set(model.KindCleanupStall, now, d.stall(s.Cleanups.Running, s.Cleanups.QueueLength, "cleanup"))
	d.set(model.KindFinalizerBacklog, now, d.backlog(now, s.Finalizers.QueueLength))
	d.growth(s) // also sets the slopes on s
	d.set(model.KindGoroutineLeak, now, d.leak(s))
	out := make([]model.Finding, 0, len(d.active))
	for _, f := range d.active {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// set updates the finding of a kind: f == nil clears it, otherwise it is
// (re)placed, keeping the first Since.
func (d *Detector) set(kind string, now time.Time, f *model.Finding) {
	if f == nil {
		delete(d.active, kind)
		return
	}
	f.Kind = kind
	if prev, ok := d.active[kind]; ok {
		f.Since = prev.Since
	} else {
		f.Since = now
	}
	d.active[kind] = f
}

func (d *Detector) stall(r *model.Running, qlen *int64, what string) *model.Finding {
	if r == nil {
		return nil
	}
	age := time.Duration(r.Seconds * float64(time.Second))
	if age < d.cfg.StallThreshold {
		return nil
	}
	where := ""
	if r.State == "blocked" && len(r.Stack) > 0 {
		where = fmt.Sprintf(" in %s", blockingFrame(r.Stack))
	}
	atLeast := ""
	if r.AtLeast {
		atLeast = "≥ "
	}
	summary := fmt.Sprintf("%s %s has been %s for %s%s%s", what, r.Function, stateWord(r.State), atLeast, roundAge(age), where)
	ev := map[string]any{
		"function": r.Function, "seconds": r.Seconds, "state": r.State, "stack": r.Stack,
	}
	if r.WaitReason != "" {
		ev["wait_reason"] = r.WaitReason
	}
	if qlen != nil {
		ev["queue_length"] = *qlen
		summary += fmt.Sprintf("; queue %d", *qlen)
	}
	sev := model.SeverityWarning
	if age >= 30*d.cfg.StallThreshold {
		sev = model.SeverityCritical
	}
	return &model.Finding{Severity: sev, Summary: summary, Evidence: ev}
}

// parked: the finalizer goroutine has been parked waiting for work for
// longer than the stall threshold while finalizers are queued and the queue
// does not drain. The runtime wakes it whenever it queues one, so this means
// it is not being scheduled.
func (d *Detector) parked(f model.Finalizers) *model.Finding {
	g, q := f.Goroutine, f.QueueLength
	if f.Running != nil || g == nil || q == nil || *q <= 0 || g.WaitSeconds == nil {
		d.parkedQueue = -1
		return nil
	}
	if g.Status != "waiting" || g.WaitReason != "finalizer wait" ||
		*g.WaitSeconds < d.cfg.StallThreshold.Seconds() {
		d.parkedQueue = -1
		return nil
	}
	// Only a queue that is not draining counts (seen at least twice, not shrinking).
	prev := d.parkedQueue
	d.parkedQueue = *q
	if prev < 0 || *q < prev {
		return nil
	}
	return &model.Finding{
		Severity: model.SeverityCritical,
		Summary: fmt.Sprintf("finalizer goroutine has been parked for %s while %d finalizers are queued",
			roundAge(time.Duration(*g.WaitSeconds*float64(time.Second))), *q),
		Evidence: map[string]any{"queue_length": *q, "wait_seconds": *g.WaitSeconds, "goid": g.Goid},
	}
}

func stateWord(s string) string {
	if s == "" || s == "running" {
		return "running"
	}
	return s
}

// blockingFrame returns the first non-runtime frame of a stack (innermost
// first), where user code waits; or the innermost frame.
func blockingFrame(stack []string) string {
	for _, f := range stack {
		if !isRuntimeFrame(f) {
			return trimLocation(f)
		}
	}
	return trimLocation(stack[0])
}

func isRuntimeFrame(f string) bool {
	for _, p := range []string{"runtime.", "internal/", "sync.", "syscall."} {
		if strings.HasPrefix(f, p) {
			return true
		}
	}
	return false
}

// trimLocation drops the " file:line" of a "function file:line" frame.
func trimLocation(f string) string {
	fn, _, _ := strings.Cut(f, " ")
	return fn
}

func roundAge(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// SetConfig changes the thresholds of a running detector and keeps its
// history (queue and growth series, GC pause baseline, active findings): a
// finding is re-evaluated against the new thresholds at the next Update.
// Like Update, it must not be called concurrently with Update.
func (d *Detector) SetConfig(cfg Config) {
	d.cfg = cfg.withDefaults()
}

// Config returns the detector's thresholds, defaults filled in.
func (d *Detector) Config() Config { return d.cfg }
