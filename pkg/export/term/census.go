package term

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Target names the process a view is about, in its heading.
type Target struct {
	PID       int
	Comm      string
	GoVersion string
	// Time is when it was read.
	Time time.Time
}

// RenderCensus writes the table view of `memsight goroutines`: counts by
// status and wait reason (the top first), creation sites, the oldest
// waiters, and the stack groups when the census has them.
func RenderCensus(w io.Writer, t Target, c *model.Census, top int) {
	fmt.Fprintf(w, "memsight goroutines %d (%s, %s)   %s\n", t.PID, t.Comm, t.GoVersion, t.Time.Format("15:04:05"))
	fmt.Fprintf(w, "goroutines %d (NumGoroutine %d) + %d system = %d live; allgs %d (%d dead)\n",
		c.User, c.NumGoroutine, c.System, c.Total, c.AllGs, c.Dead)
	if c.IncludeSystem {
		fmt.Fprintln(w, "(counts below include system goroutines)")
	}
	section(w, "STATUS", counts(c.ByStatus), 0)
	section(w, "WAIT REASON", counts(c.ByWaitReason), top)

	fmt.Fprintf(w, "\nTOP CREATION SITES (%d of %d)\n", len(c.BySite), c.Sites)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range c.BySite {
		state := s.WaitReason
		if state == "" {
			state = s.Status
		}
		fmt.Fprintf(tw, "%d\t%s\tcreated at %s\n", s.Count, state, s.Site)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nOLDEST WAITERS")
	if len(c.OldestWaiters) == 0 {
		fmt.Fprintln(w, "none recorded yet (the runtime records when a goroutine blocked at the GC after it did)")
	} else {
		tw = NewTable(w, "GOID", "WAITING", "REASON", "CREATED AT")
		for _, x := range c.OldestWaiters {
			fmt.Fprintf(tw, "%d\t~%s\t%s\t%s\n", x.Goid, (time.Duration(x.WaitSeconds * 1e9)).Round(time.Millisecond), x.WaitReason, x.CreatedBy)
		}
		tw.Flush()
	}
	if c.WaitSinceUnknown > 0 {
		fmt.Fprintf(w, "(waiting, no wait start recorded yet: %d)\n", c.WaitSinceUnknown)
	}
	for k, why := range c.Unknown {
		fmt.Fprintf(w, "unknown %s: %s\n", k, why)
	}
	if c.Stacks != nil {
		fmt.Fprintln(w)
		writeStackGroups(w, c)
	}
}

type count struct {
	name string
	n    int
}

// counts sorts a map by count, then name.
func counts(m map[string]int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return out[i].name < out[j].name
	})
	return out
}

// section prints a two-column table, the first top rows (0: all).
func section(w io.Writer, title string, rows []count, top int) {
	fmt.Fprintln(w)
	tw := NewTable(w, title, "COUNT")
	for i, r := range rows {
		if top > 0 && i == top {
			fmt.Fprintf(tw, "(%d more)\t\n", len(rows)-top)
			break
		}
		fmt.Fprintf(tw, "%s\t%d\n", r.name, r.n)
	}
	tw.Flush()
}

// writeStackGroups prints the stack groups as the goroutine profile with
// debug=1 does (runtime/pprof.printStackRecord): the pcs, then the frames
// without runtime.goexit and the leading runtime frames.
func writeStackGroups(w io.Writer, c *model.Census) {
	fmt.Fprintf(w, "goroutine profile: total %d\n", c.Counted)
	for _, g := range c.Stacks {
		fmt.Fprintf(w, "%d @", g.Count)
		for _, f := range g.Frames {
			fmt.Fprintf(w, " %#x", f.PC)
		}
		fmt.Fprintln(w)
		show := false
		for _, f := range g.Frames {
			if f.Function == "runtime.goexit" || !show && (strings.HasPrefix(f.Function, "runtime.") || strings.HasPrefix(f.Function, "internal/runtime/")) {
				continue
			}
			show = true
			writeFrame(w, f)
		}
		if !show {
			for _, f := range g.Frames {
				writeFrame(w, f)
			}
		}
		if g.Err != "" {
			fmt.Fprintf(w, "# stack not read completely: %s\n", g.Err)
		}
		fmt.Fprintln(w)
	}
	if c.StacksSkipped > 0 {
		fmt.Fprintf(w, "# %d goroutines not read (--max-stacks)\n", c.StacksSkipped)
	}
}

// writeFrame prints a frame as runtime.CallersFrames gives it to pprof: the
// pc of the call instruction (return address - 1).
func writeFrame(w io.Writer, f model.CensusFrame) {
	pc, off := f.PC, f.Offset
	if off > 0 {
		pc, off = pc-1, off-1
	}
	fmt.Fprintf(w, "#\t%#x\t%s+%#x\t%s:%d\n", pc, f.Function, off, f.File, f.Line)
}
