package observe

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
)

// topSites symbolizes the recorded stacks, drops the runtime's frames at
// the top (the allocator itself) so that a site starts at the code that
// allocated, merges the stacks that become equal, and returns the ones with
// the most bytes (then hits).
func (a *allocState) topSites(sites []probe.AllocSite) []model.AllocSite {
	merged := map[string]*model.AllocSite{}
	for _, s := range sites {
		stack := a.symbolize(s.PCs)
		key := strings.Join(stack, "\n")
		m := merged[key]
		if m == nil {
			m = &model.AllocSite{Stack: stack}
			merged[key] = m
		}
		m.Hits += s.Hits
		m.Bytes += s.Bytes
	}
	out := make([]model.AllocSite, 0, len(merged))
	for _, m := range merged {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		if out[i].Hits != out[j].Hits {
			return out[i].Hits > out[j].Hits
		}
		return strings.Join(out[i].Stack, "\n") < strings.Join(out[j].Stack, "\n")
	})
	if len(out) > maxAllocSites {
		out = out[:maxAllocSites]
	}
	return out
}

// symbolize turns a stack of process PCs (the probed instruction, then
// return addresses) into "function file:line" strings, innermost first,
// inlined calls expanded, without the leading runtime frames (unless the
// whole stack is the runtime's).
func (a *allocState) symbolize(pcs []uint64) []string {
	var all []string
	user := -1
	for i, pc := range pcs {
		for _, f := range a.frame(pc, i > 0) {
			if user < 0 && !isRuntimeFrame(f) {
				user = len(all)
			}
			all = append(all, f)
		}
	}
	if user > 0 {
		all = all[user:]
	}
	if all == nil {
		all = []string{}
	}
	return all
}

// frame symbolizes one PC (cached: sites are cumulative, so every sample
// sees the same PCs again).
func (a *allocState) frame(pc uint64, ret bool) []string {
	k := frameKey{pc, ret}
	if f, ok := a.frames[k]; ok {
		return f
	}
	var out []string
	if pc < a.bias {
		out = []string{fmt.Sprintf("%#x", pc)}
	} else if frs := a.bin.Frames(pc-a.bias, ret); len(frs) == 0 {
		out = []string{fmt.Sprintf("%#x", pc)}
	} else {
		for _, f := range frs {
			loc := f.PrintName()
			if f.File != "" {
				loc += fmt.Sprintf(" %s:%d", f.File, f.Line)
			}
			out = append(out, loc)
		}
	}
	a.frames[k] = out
	return out
}

// isRuntimeFrame reports whether a symbolized frame is in the Go runtime
// (package runtime, or internal/runtime/... such as the map implementation).
func isRuntimeFrame(loc string) bool {
	return strings.HasPrefix(loc, "runtime.") || strings.HasPrefix(loc, "internal/runtime/") ||
		strings.HasPrefix(loc, "runtime/internal/")
}
