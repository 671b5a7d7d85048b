package detect

import (
	"fmt"
	"math"

	"github.com/memsight/memsight/pkg/model"
)

// Thresholds of the rss_growth cause: the Go heap explains RSS growth when
// the heap grows at least heapShareOfSlope as fast as RSS (see heapSlope),
// or, over a whole window, when heap in use is at least heapShareOfRSS of
// RSS and growing (over less, noise alone makes it "growing" half the time).
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
func (d *Detector) rssGrowth(s *model.Sample, f fits) *model.Finding {
	c := d.cfg
	early, grows := d.growsHow(model.KindRSSGrowth, f.rss, f.rssOK, c.RSSGrowthThreshold, float64(c.GrowthMinBytes))
	if !grows {
		return nil
	}
	ev := map[string]any{
		"slope_bytes_per_hour": f.rss.PerHour,
		"r2":                   f.rss.R2,
		"window_seconds":       f.rss.Span.Seconds(),
		"rss_bytes":            s.RSSBytes,
	}
	ci := d.describe(ev, f.rss, early, "slope_ci_bytes_per_hour", fmtBytes)
	heapSlope := math.Inf(-1)
	share := 0.0
	if s.Heap != nil && f.heapOK {
		heapSlope = d.heapSlope(f, early)
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
	_, goroutinesGrow := d.goroutinesGrow(f)
	heapGrows := heapSlope >= heapShareOfSlope*f.rss.PerHour || (!early && share >= heapShareOfRSS && heapSlope > 0)
	finqGrows := d.active[model.KindFinalizerBacklog] != nil ||
		d.grows(f.finq, f.finqOK, 0, float64(c.BacklogMinQueue))
	cause, why := CauseNonHeap, "outside the Go heap (cgo or mmap'd memory, stacks, fragmentation)"
	switch {
	case finqGrows && heapSlope > 0:
		cause, why = CauseFinalizerBacklog, fmt.Sprintf("finalizer backlog (queue +%.0f/h, heap +%s/h)", f.finq.PerHour, fmtBytes(heapSlope))
	case s.Goroutines != nil && goroutinesGrow:
		cause, why = CauseGoroutines, fmt.Sprintf("goroutines (+%.0f/h, %d now)", f.goroutines.PerHour, s.Goroutines.Total)
	case heapGrows:
		cause, why = CauseGoHeap, fmt.Sprintf("Go heap (+%s/h, %.0f %% of RSS)", fmtBytes(heapSlope), 100*share)
	}
	ev["cause"] = cause
	sev := model.SeverityWarning
	if f.rss.PerHour >= float64(s.RSSBytes) { // doubles within the hour
		sev = model.SeverityCritical
	}
	return &model.Finding{
		Severity: sev,
		Summary: fmt.Sprintf("RSS grows %s/h (R² %.2f over %s%s), %s now; cause: %s",
			fmtBytes(f.rss.PerHour), f.rss.R2, roundAge(f.rss.Span), ci, fmtBytes(float64(s.RSSBytes)), why),
		Evidence: ev,
	}
}

// heapSlope is the Go heap's growth per hour, to compare with RSS's. Over
// a whole window it is the larger of the slopes of the heap in use and of
// the live heap (in use is a sawtooth over GC cycles; the live heap is
// not). Over less (early), the slope of the heap in use is mostly the phase
// of its sawtooth, so it is the larger of the slopes of the live heap and
// of the heap goal, which move once per cycle with what the heap retains
// (RSS follows the goal: pages touched up to it stay resident); the heap in
// use only when neither is known.
func (d *Detector) heapSlope(f fits, early bool) float64 {
	if !early {
		if f.liveOK {
			return max(f.heap.PerHour, f.live.PerHour)
		}
		return f.heap.PerHour
	}
	slope, ok := math.Inf(-1), false
	if f.liveOK {
		slope, ok = f.live.PerHour, true
	}
	if g, gok := d.grow.goal.fit(0); gok {
		slope, ok = max(slope, g.PerHour), true
	}
	if !ok {
		return f.heap.PerHour
	}
	return slope
}

// heapGrowth: heap in use grows by at least HeapGrowthThreshold per hour
// with a good fit, and so does the live heap marked by the GC (so a heap
// filling with garbage between two cycles is not growth).
func (d *Detector) heapGrowth(s *model.Sample, f fits) *model.Finding {
	c := d.cfg
	if s.Heap == nil || !f.liveOK || f.live.PerHour <= 0 || f.live.Rise < float64(c.GrowthMinBytes) {
		return nil
	}
	early, grows := d.growsHow(model.KindHeapGrowth, f.heap, f.heapOK, c.HeapGrowthThreshold, float64(c.GrowthMinBytes))
	if !grows {
		return nil
	}
	ev := map[string]any{
		"slope_bytes_per_hour":      f.heap.PerHour,
		"r2":                        f.heap.R2,
		"window_seconds":            f.heap.Span.Seconds(),
		"inuse_bytes":               s.Heap.InuseBytes,
		"live_bytes":                s.Heap.LiveBytes,
		"live_slope_bytes_per_hour": f.live.PerHour,
	}
	ci := d.describe(ev, f.heap, early, "slope_ci_bytes_per_hour", fmtBytes)
	return &model.Finding{
		Severity: model.SeverityWarning,
		Summary: fmt.Sprintf("Go heap in use grows %s/h (R² %.2f over %s%s), %s now; live after GC +%s/h",
			fmtBytes(f.heap.PerHour), f.heap.R2, roundAge(f.heap.Span), ci, fmtBytes(float64(s.Heap.InuseBytes)), fmtBytes(f.live.PerHour)),
		Evidence: ev,
	}
}

func (d *Detector) goroutinesGrow(f fits) (early, grows bool) {
	return d.growsHow(model.KindGoroutineGrowth, f.goroutines, f.grOK, d.cfg.GoroutineGrowthThreshold, float64(d.cfg.GrowthMinCount))
}

// goroutineGrowth: the goroutine count grows by at least
// GoroutineGrowthThreshold per hour with a good fit. The evidence names the
// go statement that created the most goroutines, when the census has it.
func (d *Detector) goroutineGrowth(s *model.Sample, f fits) *model.Finding {
	if s.Goroutines == nil {
		return nil
	}
	early, grows := d.goroutinesGrow(f)
	if !grows {
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
	ci := d.describe(ev, f.goroutines, early, "slope_ci_per_hour", fmtCount)
	where := ""
	if len(g.TopCreationSites) > 0 {
		top := g.TopCreationSites[0]
		ev["top_creation_site"] = top
		where = fmt.Sprintf("; most created by %s (%s:%d): %d", top.Function, top.File, top.Line, top.Count)
		if top.WaitReason != "" {
			where += ", " + top.WaitReason
		}
	}
	return &model.Finding{
		Severity: model.SeverityWarning,
		Summary: fmt.Sprintf("goroutines grow %.0f/h (R² %.2f over %s%s), %d now%s",
			f.goroutines.PerHour, f.goroutines.R2, roundAge(f.goroutines.Span), ci, g.Total, where),
		Evidence: ev,
	}
}

// fdGrowth: the open file descriptors grow by at least FDGrowthThreshold
// per hour with a good fit.
func (d *Detector) fdGrowth(s *model.Sample, f fits) *model.Finding {
	if s.FDs.Open < 0 {
		return nil
	}
	early, grows := d.growsHow(model.KindFDGrowth, f.fds, f.fdsOK, d.cfg.FDGrowthThreshold, float64(d.cfg.GrowthMinCount))
	if !grows {
		return nil
	}
	ev := map[string]any{
		"slope_per_hour": f.fds.PerHour,
		"r2":             f.fds.R2,
		"window_seconds": f.fds.Span.Seconds(),
		"open":           s.FDs.Open,
	}
	ci := d.describe(ev, f.fds, early, "slope_ci_per_hour", fmtCount)
	return &model.Finding{
		Severity: model.SeverityWarning,
		Summary: fmt.Sprintf("open file descriptors grow %.0f/h (R² %.2f over %s%s), %d now",
			f.fds.PerHour, f.fds.R2, roundAge(f.fds.Span), ci, s.FDs.Open),
		Evidence: ev,
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
