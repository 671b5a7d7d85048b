package goruntime

import (
	"sort"
	"strconv"
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// groupStacks reads the stack of each g at addrs and groups equal stacks,
// as the goroutine profile with debug=1 does. A goroutine whose stack
// cannot be read is grouped by the reason.
func (r *Runtime) groupStacks(c *model.Census, addrs []uint64) {
	type acc struct {
		g       model.StackGroup
		reasons map[string]int
	}
	groups := map[string]*acc{}
	var order []string
	for _, addr := range addrs {
		frames, errText, reason := r.stackOf(addr)
		var key strings.Builder
		for _, f := range frames {
			key.WriteString(strconv.FormatUint(f.PC, 16))
			key.WriteByte(' ')
		}
		key.WriteString("|" + errText)
		k := key.String()
		a := groups[k]
		if a == nil {
			a = &acc{g: model.StackGroup{Frames: frames, Err: errText}, reasons: map[string]int{}}
			groups[k] = a
			order = append(order, k)
		}
		a.g.Count++
		if reason != "" {
			a.reasons[reason]++
		}
	}
	c.Stacks = make([]model.StackGroup, 0, len(groups))
	for _, k := range order {
		a := groups[k]
		a.g.WaitReason, _ = dominant(a.reasons)
		c.Stacks = append(c.Stacks, a.g)
	}
	sort.SliceStable(c.Stacks, func(i, j int) bool { return c.Stacks[i].Count > c.Stacks[j].Count })
}

// stackOf reads one goroutine's stack: its frames, why it is incomplete,
// and its wait reason.
func (r *Runtime) stackOf(addr uint64) (frames []model.CensusFrame, errText, reason string) {
	g, err := r.Goroutine(addr)
	switch {
	case err != nil:
		return nil, "unreadable: " + err.Error(), ""
	case g.Dead():
		return nil, "exited during the census", ""
	case g.Status.V == gRunning && g.Stack == nil:
		// One group for every running goroutine, whatever its thread.
		return nil, "running: its registers are not in memory", ""
	}
	if g.WaitReason.Known {
		reason = g.WaitReason.V
	}
	return censusFrames(g.Stack), g.StackErr, reason
}

func censusFrames(st []Frame) []model.CensusFrame {
	if st == nil {
		return nil
	}
	out := make([]model.CensusFrame, len(st))
	for i, f := range st {
		out[i] = model.CensusFrame{
			Function: f.PrintName(), File: f.File, Line: f.Line,
			PC: f.PC, Offset: f.Offset, Inlined: f.Inlined,
		}
	}
	return out
}

// waiterStacks reads the stacks of the oldest waiters.
func (r *Runtime) waiterStacks(c *model.Census, hs []gHead) {
	for i := range c.OldestWaiters {
		w := &c.OldestWaiters[i]
		g, err := r.Goroutine(hs[i].addr)
		switch {
		case err != nil:
			w.StackErr = err.Error()
		case !g.Goid.Known || g.Goid.V != w.Goid || g.Dead():
			w.StackErr = "goroutine exited during the census"
		default:
			w.Stack, w.StackErr = censusFrames(g.Stack), g.StackErr
		}
	}
}
