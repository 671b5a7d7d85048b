package observe

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
)

// AllocMode selects the opt-in allocation probes (AttachConfig.AllocProbes).
type AllocMode string

// Allocation probe modes.
const (
	// AllocOff attaches no allocation probe (the default).
	AllocOff AllocMode = ""
	// AllocSlow probes the allocator's slow paths: runtime.(*mcache).refill,
	// runtime.(*mheap).alloc and the large allocation function (about one
	// hit per span of small objects, one per large object).
	AllocSlow AllocMode = "slow"
	// AllocAll adds the mallocgc family: one hit per allocation, costly
	// (about 1.3 µs each on the test VM), for debugging.
	AllocAll AllocMode = "all"
)

// DefaultOverheadBudget is the share of one CPU the allocation probes may
// cost the target before the governor detaches the costliest.
const DefaultOverheadBudget = 0.01

// maxAllocSites is how many allocation sites model.Sample.Alloc.TopSites lists.
const maxAllocSites = 10

// allocGovernPeriod is how often the overhead governor looks at the
// probes' hits. It runs on its own, not at the (longer) sample interval, so
// that a costly probe slows the target for at most about this long.
const allocGovernPeriod = 200 * time.Millisecond

// allocState is a Session's allocation probes and their overhead governor.
type allocState struct {
	att    *probe.AllocAttachment
	probes *probe.Probes
	budget float64
	bin    *goexe.Binary
	bias   uint64
	warn   func(string, ...any)
	debug  func(string, ...any)
	kind   map[string]goexe.AllocKind
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	emulated map[string]bool
	detached map[string]string
	lastHits map[string]uint64
	lastAt   time.Time
	lastRun  model.ProgramStats
	cost     time.Duration // estimated total cost since attach
	// sampleAt and sampleCost are the governor's time and cost at the last
	// Sample, for the sample's overhead ratio.
	sampleAt   time.Time
	sampleCost time.Duration
	ratio      float64
	frames     map[frameKey][]string // symbolized PCs
}

type frameKey struct {
	pc  uint64
	ret bool
}

// attachAlloc attaches the allocation probes AttachConfig asks for.
func (s *Session) attachAlloc() error {
	mode := s.cfg.AllocProbes
	if mode == AllocOff {
		return nil
	}
	if mode != AllocSlow && mode != AllocAll {
		return fmt.Errorf("unknown allocation probe mode %q (want %q or %q)", mode, AllocSlow, AllocAll)
	}
	budget := s.cfg.OverheadBudget
	if budget == 0 {
		budget = DefaultOverheadBudget
	}
	if budget < 0 {
		return fmt.Errorf("overhead budget %g is negative", budget)
	}
	ap := s.bin.AllocPoints()
	probes := ap.Slow
	if mode == AllocAll {
		probes = append(probes, ap.Malloc...)
	}
	for name, why := range ap.Missing {
		s.log.Info("allocation probe not attached", "point", name, "reason", why)
	}
	att, err := s.cfg.Probes.AttachAlloc(probe.AllocTarget{
		ExePath:   filepath.Join(s.cfg.Procs.Root(), strconv.Itoa(s.cfg.PID), "exe"),
		PID:       s.cfg.PID,
		Arch:      s.bin.Arch,
		Probes:    probes,
		SpanBytes: ap.SpanBytes,
		Funcs:     s.bin,
	})
	if err != nil {
		return fmt.Errorf("attaching allocation probes to pid %d: %w", s.cfg.PID, err)
	}
	now := time.Now()
	a := &allocState{
		att: att, probes: s.cfg.Probes, budget: budget, bin: s.bin, bias: s.bias, warn: s.log.Warn, debug: s.log.Debug,
		kind: map[string]goexe.AllocKind{}, stop: make(chan struct{}), done: make(chan struct{}),
		emulated: map[string]bool{}, detached: map[string]string{}, lastHits: map[string]uint64{},
		lastAt: now, sampleAt: now, frames: map[frameKey][]string{},
	}
	for _, p := range att.Points() {
		a.emulated[p.Name], a.kind[p.Name] = p.Emulated, p.Kind
	}
	a.lastRun, _ = s.cfg.Probes.AllocProgramStats()
	s.alloc = a
	go a.run()
	return nil
}

// run is the governor's goroutine; close stops it and waits.
func (a *allocState) run() { governLoop(allocGovernPeriod, a.stop, a.done, &a.mu, a.govern) }

// AllocPoints lists the attached allocation probes (none without
// AttachConfig.AllocProbes).
func (s *Session) AllocPoints() []string {
	if s.alloc == nil {
		return nil
	}
	var out []string
	for _, p := range s.alloc.att.Points() {
		if !p.Detached {
			out = append(out, p.Name)
		}
	}
	return out
}

// sampleAlloc fills out.Alloc from the probes' counts and sites and the
// governor's estimates.
func (s *Session) sampleAlloc(out *model.Sample) {
	a := s.alloc
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	hits, err := a.att.Hits()
	if err != nil {
		out.Unknown["alloc"] = err.Error()
		return
	}
	// The ratio over the time since the last sample, from the governor's
	// estimates (the last governor period when it ran once or not at all).
	if a.lastAt.After(a.sampleAt) {
		a.ratio = float64(a.cost-a.sampleCost) / float64(a.lastAt.Sub(a.sampleAt))
		a.sampleAt, a.sampleCost = a.lastAt, a.cost
	}
	al := &model.Alloc{Enabled: []string{}, OverheadRatio: a.ratio, TopSites: []model.AllocSite{}}
	for _, p := range a.att.Points() {
		if !p.Detached {
			al.Enabled = append(al.Enabled, p.Name)
		}
		al.Hits += hits[p.Name]
	}
	sort.Strings(al.Enabled)
	if len(a.detached) > 0 {
		al.Detached = make(map[string]string, len(a.detached))
		for k, v := range a.detached {
			al.Detached[k] = v
		}
	}
	sites, err := a.att.Sites()
	if err != nil {
		out.Unknown["alloc.top_sites"] = err.Error()
	}
	al.TopSites = a.topSites(sites)
	out.Alloc = al
}

// govern estimates the probes' overhead over the time since its last run,
// Σ hits × (trap cost + BPF run time per hit) / (period × 1 CPU), and when
// that exceeds the budget detaches probes until the rest fit: the mallocgc
// family first (the costly debugging probes), then the slow paths, each
// group costliest first. Called with a.mu held.
func (a *allocState) govern(now time.Time) {
	dt := now.Sub(a.lastAt)
	hits, err := a.att.Hits()
	if err != nil || dt <= 0 {
		return
	}
	run := probe.DefaultAllocRunTime
	st, err := a.probes.AllocProgramStats()
	if err == nil && st.Runs > a.lastRun.Runs && st.RunTime > a.lastRun.RunTime {
		run = (st.RunTime - a.lastRun.RunTime) / time.Duration(st.Runs-a.lastRun.Runs)
	}
	costs, total, active := periodCosts(hits, a.lastHits, a.detached, func(name string) time.Duration {
		return probe.TrapCost(a.emulated[name]) + run
	})
	a.lastHits, a.lastAt, a.cost = hits, now, a.cost+total
	if err == nil {
		a.lastRun = st
	}
	// Hits of probes detached in the last round (until their links were
	// closed) count as overhead, but only the attached ones decide.
	ratio := float64(active) / float64(dt)
	a.debug("allocation probe overhead", "ratio", float64(total)/float64(dt), "attached_ratio", ratio, "period", dt, "bpf_per_hit", run)
	if ratio <= a.budget {
		return
	}
	sort.Slice(costs, func(i, j int) bool {
		oi, oj := a.kind[costs[i].name] == goexe.AllocObject, a.kind[costs[j].name] == goexe.AllocObject
		if oi != oj {
			return oi
		}
		return costs[i].d > costs[j].d
	})
	names := shed(costs, ratio, a.budget, dt, a.detached, func(c pointCost, why string) {
		a.debug("detaching allocation probe", "point", c.name, "reason", why, "cost", c.d)
	})
	start := time.Now()
	if err := a.att.Detach(names...); err != nil {
		a.warn("detaching allocation probes", "points", names, "error", err)
	}
	a.debug("allocation probes detached", "points", len(names), "duration", time.Since(start))
}

// close stops the governor and detaches the probes.
func (a *allocState) close() error {
	close(a.stop)
	<-a.done
	return a.att.Close()
}
