package goruntime

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
)

// tally accumulates the breakdowns of a census. Symbolization is cached
// per pc: a census of a million goroutines has few distinct sites.
type tally struct {
	r       *Runtime
	opts    CensusOptions
	now     int64
	counted int
	status  map[string]int
	reasons map[string]int
	unknown map[string]string
	// sites: the site of each gopc, and the counts of each site.
	siteOf  map[uint64]model.Site
	bySite  map[model.Site]*siteAcc
	reasonN map[uint8]string
	waiters []gHead // oldest first, at most opts.OldestWaiters
	noSince int
	addrs   []uint64 // g's whose stacks to read (opts.Stacks)
	skipped int
}

type siteAcc struct {
	count    int
	reasons  map[string]int
	statuses map[string]int
}

func newTally(r *Runtime, opts CensusOptions, now int64, c *model.Census) *tally {
	return &tally{
		r: r, opts: opts, now: now, status: c.ByStatus, reasons: c.ByWaitReason, unknown: c.Unknown,
		siteOf: map[uint64]model.Site{}, bySite: map[model.Site]*siteAcc{}, reasonN: map[uint8]string{},
	}
}

func (t *tally) add(h gHead) {
	t.counted++
	status := statusName(h.status, t.r.b.Version.Minor)
	t.status[status]++
	reason := ""
	if h.status == gWaiting {
		reason = t.reasonName(h.waitReason)
		t.reasons[reason]++
		if h.waitSince > 0 {
			t.addWaiter(h)
		} else {
			t.noSince++
		}
	}
	s := t.siteOfG(h)
	a := t.bySite[s]
	if a == nil {
		a = &siteAcc{reasons: map[string]int{}, statuses: map[string]int{}}
		t.bySite[s] = a
	}
	a.count++
	a.statuses[status]++
	if reason != "" {
		a.reasons[reason]++
	}
	if t.opts.Stacks {
		if len(t.addrs) < t.opts.MaxStacks {
			t.addrs = append(t.addrs, h.addr)
		} else {
			t.skipped++
		}
	}
}

func (t *tally) reasonName(v uint8) string {
	if n, ok := t.reasonN[v]; ok {
		return n
	}
	n, ok := t.r.l.WaitReason(int64(v))
	if !ok || n == "" {
		n = fmt.Sprintf("wait reason %d", v)
		t.unknown["wait_reason."+fmt.Sprint(v)] = fmt.Sprintf("wait reason %d has no name for %s", v, t.r.b.GoVersion)
	}
	t.reasonN[v] = n
	return n
}

// mainSite names the creation site of the main goroutine (goid 1), which
// the runtime creates without a go statement and prints none for.
const mainSite = "(main goroutine)"

// siteOfG is the creation site of a goroutine.
func (t *tally) siteOfG(h gHead) model.Site {
	if h.goid == 1 {
		return model.Site{Function: mainSite}
	}
	return t.site(h.gopc)
}

// site symbolizes a go statement's pc as the runtime's "created by" line.
func (t *tally) site(gopc uint64) model.Site {
	if s, ok := t.siteOf[gopc]; ok {
		return s
	}
	s := model.Site{Function: "(unknown)"}
	if f := t.r.createdBy(gopc); f != nil {
		s = model.Site{Function: f.PrintName(), File: f.File, Line: f.Line}
	}
	t.siteOf[gopc] = s
	return s
}

// addWaiter keeps the opts.OldestWaiters goroutines with the oldest
// waitsince (then the smallest goid).
func (t *tally) addWaiter(h gHead) {
	n := t.opts.OldestWaiters
	if n <= 0 {
		return
	}
	older := func(a, b gHead) int {
		return cmp.Or(cmp.Compare(a.waitSince, b.waitSince), cmp.Compare(a.goid, b.goid))
	}
	if len(t.waiters) == n && older(h, t.waiters[n-1]) >= 0 {
		return
	}
	i, _ := slices.BinarySearchFunc(t.waiters, h, older)
	t.waiters = slices.Insert(t.waiters, i, h)
	if len(t.waiters) > n {
		t.waiters = t.waiters[:n]
	}
}

// finish moves the tally into c.
func (t *tally) finish(c *model.Census) {
	c.Counted = t.counted
	c.Sites = len(t.bySite)
	for s, a := range t.bySite {
		sc := model.CensusSite{Site: s, Count: a.count}
		sc.WaitReason, sc.Waiting = dominant(a.reasons)
		sc.Status, _ = dominant(a.statuses)
		c.BySite = append(c.BySite, sc)
	}
	sort.Slice(c.BySite, func(i, j int) bool {
		a, b := c.BySite[i], c.BySite[j]
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Function, b.Function),
			cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) < 0
	})
	if t.opts.TopSites > 0 && len(c.BySite) > t.opts.TopSites {
		c.BySite = c.BySite[:t.opts.TopSites]
	}
	if c.BySite == nil {
		c.BySite = []model.CensusSite{}
	}
	c.WaitSinceUnknown = t.noSince
	c.OldestWaiters = []model.Waiter{}
	for _, h := range t.waiters {
		w := model.Waiter{Goid: h.goid, WaitReason: t.reasonName(h.waitReason), CreatedBy: t.siteOfG(h)}
		if t.now > h.waitSince {
			w.WaitSeconds = float64(t.now-h.waitSince) / 1e9
		}
		if m, ok := t.r.b.FuncMetaAt(t.r.link(h.startPC)); ok {
			w.StartFunc = goexe.Frame{Func: m.Name}.PrintName()
		}
		c.OldestWaiters = append(c.OldestWaiters, w)
	}
	c.StacksSkipped = t.skipped
}

// dominant returns the most common key (the smallest on a tie).
func dominant(m map[string]int) (string, int) {
	best, n := "", 0
	for k, v := range m {
		if v > n || v == n && k < best {
			best, n = k, v
		}
	}
	return best, n
}
