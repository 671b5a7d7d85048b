package leak

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
)

// Scan runs the verdict: two marks Config.Gap apart, and reports a
// goroutine leaked only when both marks found it leaked and it stayed
// blocked in the same wait (same g, goid, wait reason, sudog and primitive)
// from before the first mark to after the second. The target keeps
// running: a pointer moved during one mark can make a live goroutine look
// leaked to that mark, so one mark alone proves nothing.
func (e *Marker) Scan(ctx context.Context) (*model.LeakReport, error) {
	rep, _, err := e.scan(ctx)
	return rep, err
}

// scan is Scan, and returns the IDs of every group's goroutines, all of
// them (model.Leak.Goids has the first maxGoids), in the order of rep.Leaks.
func (e *Marker) scan(ctx context.Context) (*model.LeakReport, [][]uint64, error) {
	start := time.Now()
	first, err := e.mark(ctx)
	if err != nil {
		return nil, nil, err
	}
	cands := make(map[waitKey]bool, len(first.leaked))
	for _, g := range first.leaked {
		cands[g.key()] = true
	}
	rep := &model.LeakReport{Leaks: []model.Leak{}}
	var second *markResult
	if len(cands) > 0 {
		if err := sleepCtx(ctx, e.cfg.Gap); err != nil {
			return nil, nil, err
		}
		first = &markResult{r: first.r, stats: first.stats} // let the first mark's state go
		if second, err = e.mark(ctx); err != nil {
			return nil, nil, err
		}
	}
	var agreed []*gState
	if second != nil {
		seen := map[waitKey]bool{}
		for _, g := range second.leaked {
			k := g.key()
			seen[k] = true
			if _, ok := cands[k]; ok {
				agreed = append(agreed, g)
			}
		}
		for k := range cands {
			seen[k] = true
		}
		if agreed, err = e.stillBlocked(agreed); err != nil {
			return nil, nil, err
		}
		rep.Mark.Unconfirmed = len(seen) - len(agreed)
	}
	last := first
	if second != nil {
		last = second
	}
	rep.Goroutines = len(last.gs)
	for _, g := range last.gs {
		if g.blocked() {
			rep.Blocked++
		}
	}
	goids, err := e.group(rep, agreed, last)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range []*markResult{first, second} {
		if r == nil {
			continue
		}
		rep.Mark.Marks++
		rep.Mark.BytesRead += r.r.bytes
		rep.Mark.Reads += r.r.reads
	}
	rep.Mark.ObjectsMarked, rep.Mark.BytesMarked = last.m.st.objects, last.m.st.bytes
	rep.Mark.Conservative = conservative(last)
	rep.Mark.Seconds = time.Since(start).Seconds()
	return rep, goids, nil
}

// stillBlocked re-reads the goroutines and keeps those still in the same
// wait.
func (e *Marker) stillBlocked(gs []*gState) ([]*gState, error) {
	if len(gs) == 0 {
		return nil, nil
	}
	addrs := make([]uint64, len(gs))
	for i, g := range gs {
		addrs[i] = g.addr
	}
	var now, was []*gState
	i := 0
	err := e.readGs(addrs, func(addr uint64, b []byte, ok bool) error {
		if ng := e.decodeG(addr, b); ok && ng != nil {
			now, was = append(now, ng), append(was, gs[i])
		}
		i++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.readSudogs(now); err != nil {
		return nil, err
	}
	var out []*gState
	for i, ng := range now {
		if ng.key() == was[i].key() {
			out = append(out, was[i])
		}
	}
	return out, nil
}

// conservative describes what the mark could not scan exactly.
func conservative(r *markResult) []string {
	out := []string{}
	if n := r.stats.consStacks; n > 0 {
		out = append(out, fmt.Sprintf("%d stacks of running goroutines (registers not in memory)", n))
	}
	if n := r.stats.consFrames; n > 0 {
		out = append(out, fmt.Sprintf("%d stack frames (asynchronously preempted, or without stack maps)", n))
	}
	if n := r.stats.consWalks; n > 0 {
		out = append(out, fmt.Sprintf("%d stacks not fully unwound", n))
	}
	if r.m != nil {
		if n := r.m.st.consObjects; n > 0 {
			out = append(out, fmt.Sprintf("%d heap objects without a known pointer layout", n))
		}
		if n := r.m.st.unreadObjects + r.m.st.unresolved; n > 0 {
			out = append(out, fmt.Sprintf("%d heap objects or spans unreadable (freed while read)", n))
		}
	}
	return out
}

// groupKey groups leaked goroutines: same go statement, same function, same
// wait.
type groupKey struct {
	gopc, startPC uint64
	reason        string
}

// group fills rep.Leaks: one Leak per groupKey, largest first, each with one
// goroutine's stack and the bytes only its goroutines keep alive. It
// returns the IDs of each group's goroutines.
func (e *Marker) group(rep *model.LeakReport, gs []*gState, last *markResult) ([][]uint64, error) {
	groups := map[groupKey][]*gState{}
	var keys []groupKey
	for _, g := range gs {
		k := groupKey{g.gopc, g.startPC, g.reason}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], g)
	}
	sort.SliceStable(keys, func(i, j int) bool { return len(groups[keys[i]]) > len(groups[keys[j]]) })
	now, nowErr := goruntime.MonotonicNow()
	all := make([][]uint64, 0, len(keys))
	for _, k := range keys {
		members := groups[k]
		sort.Slice(members, func(i, j int) bool { return members[i].goid < members[j].goid })
		l := model.Leak{WaitReason: k.reason, Count: len(members), Stack: []string{}}
		goids := make([]uint64, len(members))
		for i, g := range members {
			goids[i] = g.goid
			if i < maxGoids {
				l.Goids = append(l.Goids, g.goid)
			}
			if nowErr == nil && g.waitSince > 0 && now > g.waitSince {
				s := float64(now-g.waitSince) / 1e9
				if l.OldestWaitSeconds == nil || s > *l.OldestWaitSeconds {
					l.OldestWaitSeconds = &s
				}
			}
		}
		e.describe(&l, members[0])
		pinned, err := e.pinned(last.m, members)
		if err != nil {
			return nil, err
		}
		l.BytesPinnedEstimate = pinned
		rep.Leaks = append(rep.Leaks, l)
		all = append(all, goids)
	}
	return all, nil
}

// describe symbolizes one goroutine of a group: its stack, function and
// creation site. Wrapper frames (method value wrappers, the closures of go
// statements) are left out, as in the runtime's tracebacks, so Function is
// what the runtime prints above "created by".
func (e *Marker) describe(l *model.Leak, g *gState) {
	b := e.rt.Binary()
	if fr := b.Frames(g.startPC-e.bias, false); len(fr) > 0 {
		l.Function = fr[len(fr)-1].PrintName()
	}
	gr, err := e.rt.Goroutine(g.addr)
	if err != nil {
		return
	}
	callee := ""
	for i, f := range gr.Stack {
		if i > 0 && gr.Stack[i-1].PC == f.PC {
			continue // the logical frames of one pc come together below
		}
		for _, lf := range b.Frames(f.PC-e.bias, i > 0 || f.PC != f.Entry) {
			id := lf.FuncID
			elide := id == "wrapper" && callee != "gopanic" && callee != "sigpanic" && callee != "panicwrap"
			callee = id
			if lf.Func == "runtime.goexit" || elide {
				continue
			}
			l.Stack = append(l.Stack, fmt.Sprintf("%s %s:%d", lf.PrintName(), lf.File, lf.Line))
			l.Function = lf.PrintName()
		}
	}
	if c := gr.CreatedBy; c != nil {
		l.CreationSite = fmt.Sprintf("%s %s:%d", c.PrintName(), c.File, c.Line)
	}
}

// pinned estimates what only these leaked goroutines keep alive: their
// stacks, and the heap objects their stacks and primitives reach that the
// mark of live roots did not (continuing that mark, so objects shared with
// an earlier group count there).
func (e *Marker) pinned(m *marker, gs []*gState) (uint64, error) {
	if m == nil {
		return 0, nil
	}
	before := m.st.bytes
	var stacks uint64
	for _, g := range gs {
		stacks += g.stackHi - g.stackLo
		if err := e.scanStack(m, g); err != nil {
			continue // the estimate leaves it out
		}
		for _, sg := range g.sudogs {
			m.markPtr(sg.c)
			m.markPtr(sg.elem)
		}
	}
	if err := m.drain(); err != nil {
		return 0, err
	}
	return stacks + m.st.bytes - before, nil
}

// maxGoids bounds model.Leak.Goids.
const maxGoids = 64
