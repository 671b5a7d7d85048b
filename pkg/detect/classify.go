package detect

import (
	"fmt"
	"math"

	"github.com/memsight/memsight/pkg/observe"
)

// Thresholds of the rss_growth cause: the Go heap explains RSS growth when
// heap in use grows at least heapShareOfSlope as fast as RSS, or when it is
// at least heapShareOfRSS of RSS and growing.
const (
	heapShareOfSlope = 0.5
	heapShareOfRSS   = 0.7
)

// rssGrowth: RSS grows by at least RSSGrowthThreshold per hour with a good
// linear fit. The evidence names the cause, in this order: the finalizer
// queue grows along with the heap (objects waiting for their finalizers keep
// what they reference alive), the goroutine count grows (goroutine_growth
// holds), the Go heap grows with RSS, or else something outside the Go heap
// (cgo or mmap'd memory, stacks, fragmentation) grows.
func (d *Detector) rssGrowth(s *observe.Sample, f fits) *observe.Finding {
	c := d.cfg
	if !d.grows(f.rss, f.rssOK, c.RSSGrowthThreshold, float64(c.GrowthMinBytes)) {
		return nil
	}
	ev := map[string]any{
		"slope_bytes_per_hour": f.rss.PerHour,
		"r2":                   f.rss.R2,
		"window_seconds":       f.rss.Span.Seconds(),
		"rss_bytes":            s.RSSBytes,
	}
	heapSlope := math.Inf(-1)
	share := 0.0
	if s.Heap != nil && f.heapOK {
		heapSlope = f.heap.PerHour
		if f.liveOK {
			// In use is a sawtooth over GC cycles; the live heap is not.
			heapSlope = max(heapSlope, f.live.PerHour)
		}
		if s.RSSBytes > 0 {
			share = float64(s.Heap.InuseBytes) / float64(s.RSSBytes)
		}
		ev["heap_inuse_bytes"] = s.Heap.InuseBytes
		ev["heap_share"] = share
		ev["heap_slope_bytes_per_hour"] = heapSlope
		ev["non_heap_slope_bytes_per_hour"] = f.rss.PerHour - heapSlope
	}
	if f.grOK {
		ev["goroutines_slope_per_hour"] = f.goroutines.PerHour
	}
	if f.finqOK {
		ev["finalizer_queue_slope_per_hour"] = f.finq.PerHour
	}
	heapGrows := heapSlope >= heapShareOfSlope*f.rss.PerHour || (share >= heapShareOfRSS && heapSlope > 0)
	finqGrows := d.active[KindFinalizerBacklog] != nil ||
		d.grows(f.finq, f.finqOK, 0, float64(c.BacklogMinQueue))
	cause, why := CauseNonHeap, "outside the Go heap (cgo or mmap'd memory, stacks, fragmentation)"
	switch {
	case finqGrows && heapSlope > 0:
		cause, why = CauseFinalizerBacklog, fmt.Sprintf("finalizer backlog (queue +%.0f/h, heap +%s/h)", f.finq.PerHour, fmtBytes(heapSlope))
	case s.Goroutines != nil && d.goroutinesGrow(f):
		cause, why = CauseGoroutines, fmt.Sprintf("goroutines (+%.0f/h, %d now)", f.goroutines.PerHour, s.Goroutines.Total)
	case heapGrows:
		cause, why = CauseGoHeap, fmt.Sprintf("Go heap (in use +%s/h, %.0f %% of RSS)", fmtBytes(heapSlope), 100*share)
	}
	ev["cause"] = cause
	sev := SeverityWarning
	if f.rss.PerHour >= float64(s.RSSBytes) { // doubles within the hour
		sev = SeverityCritical
	}
	return &observe.Finding{
		Severity: sev,
		Summary: fmt.Sprintf("RSS grows %s/h (R² %.2f over %s), %s now; cause: %s",
			fmtBytes(f.rss.PerHour), f.rss.R2, roundAge(f.rss.Span), fmtBytes(float64(s.RSSBytes)), why),
		Evidence: ev,
	}
}

// heapGrowth: heap in use grows by at least HeapGrowthThreshold per hour
// with a good fit, and so does the live heap marked by the GC (so a heap
// filling with garbage between two cycles is not growth).
func (d *Detector) heapGrowth(s *observe.Sample, f fits) *observe.Finding {
	c := d.cfg
	if s.Heap == nil || !d.grows(f.heap, f.heapOK, c.HeapGrowthThreshold, float64(c.GrowthMinBytes)) ||
		!f.liveOK || f.live.PerHour <= 0 || f.live.Rise < float64(c.GrowthMinBytes) {
		return nil
	}
	return &observe.Finding{
		Severity: SeverityWarning,
		Summary: fmt.Sprintf("Go heap in use grows %s/h (R² %.2f over %s), %s now; live after GC +%s/h",
			fmtBytes(f.heap.PerHour), f.heap.R2, roundAge(f.heap.Span), fmtBytes(float64(s.Heap.InuseBytes)), fmtBytes(f.live.PerHour)),
		Evidence: map[string]any{
			"slope_bytes_per_hour":      f.heap.PerHour,
			"r2":                        f.heap.R2,
			"window_seconds":            f.heap.Span.Seconds(),
			"inuse_bytes":               s.Heap.InuseBytes,
			"live_bytes":                s.Heap.LiveBytes,
			"live_slope_bytes_per_hour": f.live.PerHour,
		},
	}
}

func (d *Detector) goroutinesGrow(f fits) bool {
	return d.grows(f.goroutines, f.grOK, d.cfg.GoroutineGrowthThreshold, float64(d.cfg.GrowthMinCount))
}

// goroutineGrowth: the goroutine count grows by at least
// GoroutineGrowthThreshold per hour with a good fit. The evidence names the
// go statement that created the most goroutines, when the census has it.
func (d *Detector) goroutineGrowth(s *observe.Sample, f fits) *observe.Finding {
	if s.Goroutines == nil || !d.goroutinesGrow(f) {
		return nil
	}
	g := s.Goroutines
	ev := map[string]any{
		"slope_per_hour": f.goroutines.PerHour,
		"r2":             f.goroutines.R2,
		"window_seconds": f.goroutines.Span.Seconds(),
		"total":          g.Total,
		"user":           g.User,
	}
	where := ""
	if len(g.TopCreationSites) > 0 {
		top := g.TopCreationSites[0]
		ev["top_creation_site"] = top
		where = fmt.Sprintf("; most created by %s (%s:%d): %d", top.Function, top.File, top.Line, top.Count)
		if top.WaitReason != "" {
			where += ", " + top.WaitReason
		}
	}
	return &observe.Finding{
		Severity: SeverityWarning,
		Summary: fmt.Sprintf("goroutines grow %.0f/h (R² %.2f over %s), %d now%s",
			f.goroutines.PerHour, f.goroutines.R2, roundAge(f.goroutines.Span), g.Total, where),
		Evidence: ev,
	}
}

// fdGrowth: the open file descriptors grow by at least FDGrowthThreshold
// per hour with a good fit.
func (d *Detector) fdGrowth(s *observe.Sample, f fits) *observe.Finding {
	if s.FDs.Open < 0 || !d.grows(f.fds, f.fdsOK, d.cfg.FDGrowthThreshold, float64(d.cfg.GrowthMinCount)) {
		return nil
	}
	return &observe.Finding{
		Severity: SeverityWarning,
		Summary: fmt.Sprintf("open file descriptors grow %.0f/h (R² %.2f over %s), %d now",
			f.fds.PerHour, f.fds.R2, roundAge(f.fds.Span), s.FDs.Open),
		Evidence: map[string]any{
			"slope_per_hour": f.fds.PerHour,
			"r2":             f.fds.R2,
			"window_seconds": f.fds.Span.Seconds(),
			"open":           s.FDs.Open,
		},
	}
}

// fmtBytes formats a byte count (or rate) with a binary unit.
func fmtBytes(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1<<30:
		return fmt.Sprintf("%.1f GiB", v/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.0f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
