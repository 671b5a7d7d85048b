package observe

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
)

// tracePeriod is how often the trace governor looks at the probes' hits.
const tracePeriod = 200 * time.Millisecond

// traceState governs the opt-in trace probes of one process: every
// tracePeriod it estimates their cost to the target from the process's
// counters (hits per point × trap and program cost) and detaches the
// costliest points while the total is over the budget.
type traceState struct {
	att    *probe.Attachment
	probes *probe.Probes
	tr     probe.Trace
	pid    int
	budget float64
	warn   func(string, ...any)
	debug  func(string, ...any)
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	detached map[string]string
	lastHits map[string]uint64
	lastAt   time.Time
	cost     time.Duration // estimated total since attach
	// sampleAt and sampleCost are at the last Sample, for its ratio.
	sampleAt   time.Time
	sampleCost time.Duration
	ratio      float64
}

// startTrace starts the governor of att, the process's trace probes (its
// own, or the shared attachment of its executable in the agent).
func (s *Session) startTrace(att *probe.Attachment) {
	budget := s.cfg.OverheadBudget
	if budget <= 0 {
		budget = DefaultOverheadBudget
	}
	now := time.Now()
	t := &traceState{
		att: att, probes: s.cfg.Probes, tr: s.cfg.Trace, pid: s.cfg.PID, budget: budget,
		warn: s.log.Warn, debug: s.log.Debug, stop: make(chan struct{}), done: make(chan struct{}),
		detached: map[string]string{}, lastAt: now, sampleAt: now,
	}
	if c, ok := s.cfg.Probes.Counters(s.cfg.PID); ok {
		t.lastHits = probe.PointHits(c)
	}
	s.trace = t
	go t.run()
}

func (t *traceState) run() { governLoop(tracePeriod, t.stop, t.done, &t.mu, t.govern) }

// governLoop runs an overhead governor every period, under mu, until stop
// is closed; then it closes done.
func governLoop(period time.Duration, stop <-chan struct{}, done chan<- struct{}, mu *sync.Mutex, govern func(time.Time)) {
	defer close(done)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			mu.Lock()
			govern(now)
			mu.Unlock()
		}
	}
}

// govern is the alloc governor's rule for the trace probes: cost =
// Σ new hits × HitCost over the period; over the budget, detach the
// costliest points until the rest fit. Called with t.mu held.
func (t *traceState) govern(now time.Time) {
	dt := now.Sub(t.lastAt)
	c, ok := t.probes.Counters(t.pid)
	if !ok || dt <= 0 {
		return
	}
	hits := probe.PointHits(c)
	costs, total, active := periodCosts(hits, t.lastHits, t.detached, t.att.HitCost)
	t.lastHits, t.lastAt, t.cost = hits, now, t.cost+total
	ratio := float64(active) / float64(dt)
	if ratio <= t.budget {
		return
	}
	sort.Slice(costs, func(i, j int) bool { return costs[i].d > costs[j].d })
	names := shed(costs, ratio, t.budget, dt, t.detached, func(c pointCost, why string) {
		t.warn("detaching trace probe", "point", c.name, "reason", why)
	})
	if err := t.att.Detach(names...); err != nil {
		t.warn("detaching trace probes", "points", names, "error", err)
	}
}

// live reports whether the named point is still attached.
func (t *traceState) live(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, gone := t.detached[name]
	return !gone
}

// snapshot fills a sample's Trace section.
func (t *traceState) snapshot() *model.Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lastAt.After(t.sampleAt) {
		t.ratio = float64(t.cost-t.sampleCost) / float64(t.lastAt.Sub(t.sampleAt))
		t.sampleAt, t.sampleCost = t.lastAt, t.cost
	}
	out := &model.Trace{Enabled: []string{}, OverheadRatio: t.ratio}
	seen := map[string]bool{}
	for _, p := range t.att.Points() {
		name := p
		if n := len(p) - len(".resume"); n > 0 && p[n:] == ".resume" {
			name = p[:n]
		}
		if _, gone := t.detached[name]; gone || seen[name] {
			continue
		}
		seen[name] = true
		out.Enabled = append(out.Enabled, name)
	}
	sort.Strings(out.Enabled)
	if len(t.detached) > 0 {
		out.Detached = make(map[string]string, len(t.detached))
		for k, v := range t.detached {
			out.Detached[k] = v
		}
	}
	return out
}

func (t *traceState) close() {
	close(t.stop)
	<-t.done
}

// overBudget words why a governor detached a probe: the estimate with
// enough digits to show it is over the budget (1.04 % > 1 %, not 1.0 %).
func overBudget(ratio, budget float64) string {
	digits := 1
	for digits < 4 && math.Round(ratio*100*math.Pow10(digits))/math.Pow10(digits) <= budget*100 {
		digits++
	}
	return fmt.Sprintf("overhead %.*f %% > budget %s %%", digits, ratio*100, strconv.FormatFloat(budget*100, 'g', 3, 64))
}
