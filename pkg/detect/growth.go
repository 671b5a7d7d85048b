package detect

import (
	"math"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Causes of rss_growth (evidence "cause").
const (
	CauseGoHeap           = "go_heap"
	CauseNonHeap          = "non_heap"
	CauseFinalizerBacklog = "finalizer_backlog"
	CauseGoroutines       = "goroutines"
)

// minFitSamples is the fewest samples a growth slope is computed from.
const minFitSamples = 5

// tpoint is one value of a series at one time: d is the time since the
// series' origin, x the same in seconds (the fits' abscissa: time.Time
// arithmetic was most of a fit's cost). 24 bytes: a watched process keeps
// seven series of a GrowthWindow of points.
type tpoint struct {
	d    time.Duration
	v, x float64
}

// series is a sliding window of one measurement.
type series struct {
	pts    []tpoint
	origin time.Time
}

// add appends a value and drops the points older than window.
func (s *series) add(t time.Time, v float64, window time.Duration) {
	if n := len(s.pts); n > 0 && !s.after(t) {
		s.pts = s.pts[:0] // time went backwards: start over
	}
	if len(s.pts) == 0 {
		s.origin = t
	}
	d := t.Sub(s.origin)
	s.pts = append(s.pts, tpoint{d: d, v: v, x: d.Seconds()})
	i := 0
	for i < len(s.pts) && d-s.pts[i].d > window {
		i++
	}
	s.pts = s.pts[i:]
}

// after reports whether t is later than the series' last point (which
// must exist).
func (s *series) after(t time.Time) bool {
	return t.Sub(s.origin) > s.pts[len(s.pts)-1].d
}

// fit is a least-squares line through a series.
type fit struct {
	// PerHour is the slope per hour; R2 the coefficient of determination
	// (0 when the values are all equal).
	PerHour, R2 float64
	// Rise is the fitted change over Span (PerHour × Span).
	Rise float64
	Span time.Duration
	N    int
	Last float64
	// RecentPerHour is the slope over the latest half of the span: a
	// warm-up ramp that has levelled off has a steep overall slope but a
	// flat recent one.
	RecentPerHour float64

	// The fit itself, for its confidence interval (see interval): the
	// slope per second, the means of x (seconds from the first point) and
	// of y, Σ(x-x̄)², and the points (valid until the series changes).
	slope, mx, my, sxx float64
	pts                []tpoint
}

// fit returns the least-squares line of the series; ok is false until it
// has minFitSamples points spanning at least minSpan.
func (s *series) fit(minSpan time.Duration) (f fit, ok bool) {
	n := len(s.pts)
	if n < minFitSamples {
		return fit{}, false
	}
	f, ok = lsq(s.pts, minSpan)
	if !ok {
		return f, false
	}
	half := s.pts[n-1].x - f.Span.Seconds()/2
	i := 0
	for i < n && s.pts[i].x < half {
		i++
	}
	if r, ok := lsq(s.pts[min(i, n-3):], 0); ok {
		f.RecentPerHour = r.PerHour
	}
	return f, true
}

// lsq is the least-squares line through pts, which must span minSpan.
func lsq(pts []tpoint, minSpan time.Duration) (f fit, ok bool) {
	n := len(pts)
	if n < 3 {
		return fit{}, false
	}
	span := pts[n-1].d - pts[0].d
	if span < minSpan || span <= 0 {
		return fit{}, false
	}
	// The loops index pts rather than range over copies: copying each
	// 40-byte point (its time.Time included) made them 5 times slower.
	x0 := pts[0].x
	var sx, sy float64
	for i := range pts {
		sx += pts[i].x - x0
		sy += pts[i].v
	}
	mx, my := sx/float64(n), sy/float64(n)
	var sxx, sxy, syy float64
	for i := range pts {
		dx, dy := pts[i].x-x0-mx, pts[i].v-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return fit{}, false
	}
	slope := sxy / sxx // per second
	r2 := 0.0
	if syy > 0 {
		r2 = math.Min(1, sxy*sxy/(sxx*syy))
	}
	return fit{PerHour: slope * 3600, R2: r2, Rise: slope * span.Seconds(), Span: span, N: n, Last: pts[n-1].v,
		slope: slope, mx: mx, my: my, sxx: sxx, pts: pts}, true
}

// growthState is the detector's history for the growth findings.
type growthState struct {
	rss, heap, live, goroutines, fds, finq series
	goal                                   series // fitted only for rss_growth's early cause
	// pauseBase collects the p99 STW pause of the first GCPauseBaselineSamples
	// samples with at least one GC cycle; their median is the baseline.
	pauseBase []float64
}

// fits are the current fits of a sample's series (ok false: not enough data).
type fits struct {
	rss, heap, live, goroutines, fds, finq     fit
	rssOK, heapOK, liveOK, grOK, fdsOK, finqOK bool
}

// growth feeds the sample into the growth series, publishes their slopes on
// the sample (RSS.SlopeBytesPerHour and R2, Heap.SlopeBytesPerHour,
// Goroutines.SlopePerHour, FDs.SlopePerHour; nil until the samples span half
// the window, or GrowthMinWindow if shorter) and updates the growth findings.
func (d *Detector) growth(s *model.Sample) {
	g, w, now := &d.grow, d.cfg.GrowthWindow, s.Time
	g.rss.add(now, float64(s.RSSBytes), w)
	if s.Heap != nil {
		g.heap.add(now, float64(s.Heap.InuseBytes), w)
		g.live.add(now, float64(s.Heap.LiveBytes), w)
		if s.Heap.GoalBytes > 0 {
			g.goal.add(now, float64(s.Heap.GoalBytes), w)
		}
	}
	if s.Goroutines != nil {
		// A census repeated between two (the agent takes one every
		// --slow-interval) adds no point: it is not a new measurement.
		at := s.Goroutines.Time
		if at.IsZero() {
			at = now
		}
		if len(g.goroutines.pts) == 0 || g.goroutines.after(at) {
			g.goroutines.add(at, float64(s.Goroutines.Total), w)
		}
	}
	if s.FDs.Open >= 0 {
		g.fds.add(now, float64(s.FDs.Open), w)
	}
	if q := s.Finalizers.QueueLength; q != nil {
		g.finq.add(now, float64(*q), w)
	}
	var f fits
	minSpan := min(w/2, d.cfg.GrowthMinWindow)
	f.rss, f.rssOK = g.rss.fit(minSpan)
	f.heap, f.heapOK = g.heap.fit(minSpan)
	f.live, f.liveOK = g.live.fit(minSpan)
	f.goroutines, f.grOK = g.goroutines.fit(minSpan)
	f.fds, f.fdsOK = g.fds.fit(minSpan)
	f.finq, f.finqOK = g.finq.fit(minSpan)
	publish(s, f)

	d.set(model.KindGoroutineGrowth, now, d.goroutineGrowth(s, f))
	d.set(model.KindFDGrowth, now, d.fdGrowth(s, f))
	d.set(model.KindHeapGrowth, now, d.heapGrowth(s, f))
	d.set(model.KindRSSGrowth, now, d.rssGrowth(s, f))
	d.set(model.KindGCPauseRegression, now, d.pauseRegression(s))
}

// publish sets the slopes of the fits that are ready on the sample.
func publish(s *model.Sample, f fits) {
	if f.rssOK {
		s.RSS.SlopeBytesPerHour, s.RSS.R2 = ptr(f.rss.PerHour), ptr(f.rss.R2)
	}
	if f.heapOK && s.Heap != nil {
		s.Heap.SlopeBytesPerHour = ptr(f.heap.PerHour)
	}
	if f.grOK && s.Goroutines != nil {
		s.Goroutines.SlopePerHour = ptr(f.goroutines.PerHour)
	}
	if f.fdsOK && s.FDs.Open >= 0 {
		s.FDs.SlopePerHour = ptr(f.fds.PerHour)
	}
}

func ptr(v float64) *float64 { return &v }

// grows reports whether a fit shows sustained growth (see growsHow) for a
// kind of finding that is not active.
func (d *Detector) grows(f fit, ok bool, perHour, minRise float64) bool {
	_, g := d.growsHow("", f, ok, perHour, minRise)
	return g
}

// growsHow reports whether a fit shows sustained growth, for a finding of
// kind: at least perHour, a fit at least GrowthMinR2, a fitted rise of at
// least minRise, and still at least half of perHour over the latest half of
// the span (so a warm-up ramp that levelled off does not count), over
// (nearly) a whole GrowthWindow. Earlier (early is true: the samples span
// less than 9/10 of the window), from GrowthMinWindow on, the same holds
// only once the slope's confidence interval (see interval) lies above
// perHour, with a rise of at least minRise at its lower bound; a finding of
// kind that is active then stays on the point estimates alone, so that it
// does not flicker while the interval's lower bound hovers at perHour.
//
// Slopes are published from half a window (or GrowthMinWindow) on, but
// without the interval a finding needs (nearly) a whole window:
// extrapolating a few seconds of start-up growth to an hourly rate is how a
// steady process gets called a leak.
func (d *Detector) growsHow(kind string, f fit, ok bool, perHour, minRise float64) (early, grows bool) {
	if !ok {
		return false, false
	}
	c := d.cfg
	early = f.Span < c.GrowthWindow*9/10
	if early && f.Span < c.GrowthMinWindow {
		return early, false
	}
	if f.PerHour < perHour || f.R2 < c.GrowthMinR2 || f.Rise < minRise || f.RecentPerHour < perHour/2 {
		return early, false
	}
	if !early || (kind != "" && d.active[kind] != nil) {
		return early, true
	}
	tr, ok := interval(f.pts, f, c.GrowthConfidence)
	return early, ok && tr.Lo >= perHour && tr.Lo*f.Span.Hours() >= minRise
}

// growthDefaults fills the zero growth and GC pause fields of c from d.
func (c *Config) growthDefaults(d Config) {
	setIf := func(p *float64, v float64) {
		if *p <= 0 {
			*p = v
		}
	}
	if c.GrowthWindow <= 0 {
		c.GrowthWindow = d.GrowthWindow
	}
	if c.GrowthMinWindow <= 0 {
		c.GrowthMinWindow = d.GrowthMinWindow
	}
	if !(c.GrowthConfidence > 0 && c.GrowthConfidence < 1) {
		c.GrowthConfidence = d.GrowthConfidence
	}
	setIf(&c.GrowthMinR2, d.GrowthMinR2)
	setIf(&c.RSSGrowthThreshold, d.RSSGrowthThreshold)
	setIf(&c.HeapGrowthThreshold, d.HeapGrowthThreshold)
	setIf(&c.GoroutineGrowthThreshold, d.GoroutineGrowthThreshold)
	setIf(&c.FDGrowthThreshold, d.FDGrowthThreshold)
	setIf(&c.GCPauseFactor, d.GCPauseFactor)
	if c.GrowthMinBytes == 0 {
		c.GrowthMinBytes = d.GrowthMinBytes
	}
	if c.GrowthMinCount <= 0 {
		c.GrowthMinCount = d.GrowthMinCount
	}
	if c.GCPauseFloor <= 0 {
		c.GCPauseFloor = d.GCPauseFloor
	}
	if c.GCPauseBaselineSamples <= 0 {
		c.GCPauseBaselineSamples = d.GCPauseBaselineSamples
	}
}
