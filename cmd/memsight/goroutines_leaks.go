package main

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime/leak"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
)

// leakOptions are the flags of `memsight goroutines --leaks`.
type leakOptions struct {
	leaks     bool
	readRate  int64
	maxMemory int64
	maxStack  int
}

func leakFlags(f *pflag.FlagSet, o *leakOptions) {
	f.BoolVar(&o.leaks, "leaks", false, "prove which goroutines leaked: a read-only reachability mark of the heap, like Go 1.27's goroutineleak profile (two marks; reads the live heap at --read-rate)")
	f.Int64Var(&o.readRate, "read-rate", leak.DefaultReadRate, "with --leaks, bytes read from the process per second at most (negative: unlimited)")
	f.Int64Var(&o.maxMemory, "max-memory", leak.DefaultMaxMemory, "with --leaks, memory the mark may use for its bitmaps and span tables")
	f.IntVar(&o.maxStack, "leak-stack", 12, "with --leaks, frames of each leak's stack to print (table)")
}

// leakJSON is `memsight goroutines PID --leaks -o json`.
type leakJSON struct {
	PID       int    `json:"pid"`
	Comm      string `json:"comm"`
	GoVersion string `json:"go_version"`
	*model.LeakReport
}

func runLeaks(cmd *cobra.Command, g *globalOptions, o *leakOptions, output string, pid int) error {
	if o.maxMemory <= 0 || o.maxStack < 0 {
		return usagef("--max-memory must be positive and --leak-stack at least 0")
	}
	procs, err := g.procs()
	if err != nil {
		return err
	}
	cache := goexe.NewCache(1)
	defer cache.Close()
	res, err := observe.ScanLeaks(cmd.Context(), observe.LeakScanConfig{
		PID: pid, Procs: procs, Cache: cache,
		Leak: leak.Config{ReadRate: o.readRate, MaxMemory: o.maxMemory},
	})
	if err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), leakJSON{PID: res.Process.PID, Comm: res.Process.Comm, GoVersion: res.Binary.GoVersion, LeakReport: res.Report})
	}
	term.RenderLeaks(cmd.OutOrStdout(), term.Target{PID: res.Process.PID, Comm: res.Process.Comm, GoVersion: res.Binary.GoVersion, Time: time.Now()}, res.Report, o.maxStack)
	return nil
}
