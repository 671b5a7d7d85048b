package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/observe"
)

type goroutinesOptions struct {
	output        string
	top           int
	stacks        bool
	maxStacks     int
	system        bool
	maxGoroutines int
	leak          leakOptions
}

func newGoroutinesCmd(g *globalOptions) *cobra.Command {
	o := &goroutinesOptions{}
	cmd := &cobra.Command{
		Use:   "goroutines PID",
		Short: "Count a Go process's goroutines by status, wait reason and creation site, read from its memory",
		Long: `goroutines reads runtime.allgs from the memory of a running Go process (read
only: no probes, no restart, no pprof endpoint needed) and counts its goroutines
by status, wait reason and the go statement that created them, and lists the
ones waiting longest: "3217  chan receive  created at main.handler handler.go:88".
--stacks also groups them by stack like /debug/pprof/goroutine?debug=1.
--leaks proves which goroutines leaked, like Go 1.27's goroutineleak profile
but on any Go 1.20+ process: a read-only mark of what the live goroutines and
globals reach; goroutines blocked on a channel or lock nothing live reaches
are leaked (with the bytes only they keep alive).

Counts cover the goroutines runtime/pprof lists (not the runtime's own system
goroutines, unless --system); NumGoroutine is what runtime.NumGoroutine() returns.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usagef("PID must be a positive integer, got %q", args[0])
			}
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if o.top < 1 || o.maxStacks < 1 || o.maxGoroutines < 1 {
				return usagef("--top, --max-stacks and --max-goroutines must be at least 1")
			}
			if o.leak.leaks {
				return runLeaks(cmd, g, &o.leak, o.output, pid)
			}
			return runGoroutines(cmd, g, o, pid)
		},
	}
	f := cmd.Flags()
	outputFlag(cmd, &o.output)
	f.IntVar(&o.top, "top", 10, "creation sites, wait reasons and oldest waiters to show")
	f.BoolVar(&o.stacks, "stacks", false, "also read every goroutine's stack and group equal stacks (costly: reads each stack)")
	f.IntVar(&o.maxStacks, "max-stacks", 10_000, "with --stacks, read at most this many stacks")
	f.BoolVar(&o.system, "system", false, "count the runtime's system goroutines too")
	f.IntVar(&o.maxGoroutines, "max-goroutines", 1<<20, "refuse processes with more goroutines (dead ones included) than this")
	leakFlags(f, &o.leak)
	return cmd
}

func runGoroutines(cmd *cobra.Command, g *globalOptions, o *goroutinesOptions, pid int) error {
	procs, err := g.procs()
	if err != nil {
		return err
	}
	cache := goexe.NewCache(1)
	defer cache.Close()
	res, err := observe.GoroutineCensus(observe.CensusConfig{
		PID: pid, Procs: procs, Cache: cache,
		Options: goruntime.CensusOptions{
			MaxGoroutines: o.maxGoroutines, IncludeSystem: o.system, TopSites: o.top,
			OldestWaiters: o.top, Stacks: o.stacks, MaxStacks: o.maxStacks,
		},
	})
	if err != nil {
		return err
	}
	if o.output == "json" {
		return writeJSON(cmd.OutOrStdout(), res.Census)
	}
	renderCensus(cmd.OutOrStdout(), res, o.top)
	return nil
}

func renderCensus(w io.Writer, res observe.CensusResult, top int) {
	c := res.Census
	fmt.Fprintf(w, "memsight goroutines %d (%s, %s)   %s\n", res.Process.PID, res.Process.Comm, c.GoVersion, time.Now().Format("15:04:05"))
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
		tw = newTable(w, "GOID", "WAITING", "REASON", "CREATED AT")
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
	tw := newTable(w, title, "COUNT")
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
func writeStackGroups(w io.Writer, c *goruntime.Census) {
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
func writeFrame(w io.Writer, f goruntime.CensusFrame) {
	pc, off := f.PC, f.Offset
	if off > 0 {
		pc, off = pc-1, off-1
	}
	fmt.Fprintf(w, "#\t%#x\t%s+%#x\t%s:%d\n", pc, f.Function, off, f.File, f.Line)
}
