package term

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// renderMemory writes the GC, heap, goroutine and fd lines.
func renderMemory(w io.Writer, s *model.Sample) {
	if g := s.GC; g != nil {
		gogc := "off"
		if g.GCPercent >= 0 {
			gogc = fmt.Sprint(g.GCPercent)
		}
		p99, last := "-", "-"
		if g.CyclesTotal > 0 {
			p99, last = seconds(g.STWPauseP99Seconds), seconds(g.LastPauseSeconds)
		}
		fmt.Fprintf(w, "GC         cycles %d (%d since attach)  STW p99 %s, last %s, total %s  GOGC %s\n",
			g.CyclesTotal, g.CyclesSinceAttach, p99, last, seconds(g.STWPauseSecondsTotal), gogc)
	}
	if h := s.Heap; h != nil {
		goal := HumanBytes(h.GoalBytes)
		if _, unknown := s.Unknown["heap.goal_bytes"]; unknown && h.GoalBytes == 0 {
			goal = "unknown"
		}
		limit := "none"
		if h.MemoryLimitBytes != math.MaxInt64 {
			limit = HumanBytes(uint64(h.MemoryLimitBytes))
		}
		fmt.Fprintf(w, "heap       in use %s  live %s  goal %s  limit %s%s\n",
			HumanBytes(h.InuseBytes), HumanBytes(h.LiveBytes), goal, limit, trend(h.SlopeBytesPerHour, true))
	}
	if g := s.Goroutines; g != nil {
		fmt.Fprintf(w, "goroutines %d (user %d)%s", g.Total, g.User, trend(g.SlopePerHour, false))
		if len(g.TopCreationSites) > 0 {
			t := g.TopCreationSites[0]
			fmt.Fprintf(w, "  top %s %s:%d ×%d", t.Function, filepath.Base(t.File), t.Line, t.Count)
			if t.WaitReason != "" {
				fmt.Fprintf(w, " (%s)", t.WaitReason)
			}
		}
		fmt.Fprintln(w)
	}
	if s.FDs.Open >= 0 {
		fmt.Fprintf(w, "fds        %d open%s\n", s.FDs.Open, trend(s.FDs.SlopePerHour, false))
	}
}

// trend formats a slope per hour ("  +12.0 MiB/h"), or nothing when unknown.
func trend(perHour *float64, bytes bool) string {
	switch {
	case perHour == nil:
		return ""
	case bytes:
		return "  " + signedIEC(int64(*perHour)) + "/h"
	default:
		return fmt.Sprintf("  %+.0f/h", *perHour)
	}
}

// seconds formats a duration in seconds compactly: "1.23s", "0.45ms".
func seconds(sec float64) string {
	return time.Duration(sec * float64(time.Second)).Round(time.Microsecond).String()
}

// maxAllocSites bounds the allocation sites in the table view.
const maxAllocSites = 5

// renderAlloc writes the --alloc-probes lines: probes, governor, top sites.
func renderAlloc(w io.Writer, a *model.Alloc) {
	if a == nil {
		return
	}
	fmt.Fprintf(w, "alloc      %d probes, %d hits, overhead %.2f %% of one CPU\n", len(a.Enabled), a.Hits, a.OverheadRatio*100)
	if len(a.Detached) > 0 {
		var names []string
		for n := range a.Detached {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  detached %s\n", strings.Join(names, ", "))
	}
	for i, site := range a.TopSites {
		if i == maxAllocSites {
			break
		}
		top := "?"
		if len(site.Stack) > 0 {
			top = site.Stack[0]
		}
		fmt.Fprintf(w, "  %9s  %6d hits  %s\n", HumanBytes(site.Bytes), site.Hits, top)
	}
}

// RenderDetached writes which allocation probes the overhead governor
// detached since prev, one line each ("memsight: detached ...").
func RenderDetached(w io.Writer, s, prev *model.Sample) {
	if s.Alloc == nil {
		return
	}
	var names []string
	for name := range s.Alloc.Detached {
		if prev == nil || prev.Alloc == nil || prev.Alloc.Detached[name] == "" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "memsight: detached %s: %s\n", name, s.Alloc.Detached[name])
	}
}
