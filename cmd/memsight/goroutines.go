package main

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/export/term"
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
	c := res.Census
	term.RenderCensus(cmd.OutOrStdout(), term.Target{PID: res.Process.PID, Comm: res.Process.Comm, GoVersion: c.GoVersion, Time: time.Now()}, c, o.top)
	return nil
}
