package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime/leak"
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
	*leak.Report
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
		return writeJSON(cmd.OutOrStdout(), leakJSON{PID: res.Process.PID, Comm: res.Process.Comm, GoVersion: res.Binary.GoVersion, Report: res.Report})
	}
	renderLeaks(cmd.OutOrStdout(), res, o.maxStack)
	return nil
}

func renderLeaks(w io.Writer, res observe.LeakScanResult, maxStack int) {
	r := res.Report
	fmt.Fprintf(w, "memsight goroutines %d --leaks (%s, %s)   %s\n", res.Process.PID, res.Process.Comm, res.Binary.GoVersion, time.Now().Format("15:04:05"))
	fmt.Fprintf(w, "%d goroutines, %d blocked on a channel or sync primitive; %d marks in %.2fs, %s read, %d objects (%s) reachable\n",
		r.Goroutines, r.Blocked, r.Mark.Marks, r.Mark.Seconds, humanBytes(r.Mark.BytesRead), r.Mark.ObjectsMarked, humanBytes(r.Mark.BytesMarked))
	for _, c := range r.Mark.Conservative {
		fmt.Fprintf(w, "scanned conservatively (can only hide a leak): %s\n", c)
	}
	if len(r.Leaks) == 0 {
		fmt.Fprintln(w, "\nno leaked goroutine: every blocked goroutine waits on something a live goroutine or a global can reach")
		if r.Mark.Unconfirmed > 0 {
			fmt.Fprintf(w, "(%d goroutines looked leaked to one mark only: not reported)\n", r.Mark.Unconfirmed)
		}
		return
	}
	total := 0
	for _, l := range r.Leaks {
		total += l.Count
	}
	fmt.Fprintf(w, "\nLEAKED GOROUTINES: %d in %d groups\n", total, len(r.Leaks))
	tw := newTable(w, "COUNT", "WAIT REASON", "OLDEST", "PINNED", "FUNCTION", "CREATED AT")
	for _, l := range r.Leaks {
		oldest := "-"
		if l.OldestWaitSeconds != nil {
			oldest = "~" + time.Duration(*l.OldestWaitSeconds*1e9).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.Count, l.WaitReason, oldest, humanBytes(l.BytesPinnedEstimate), l.Function, l.CreationSite)
	}
	tw.Flush()
	if maxStack == 0 {
		return
	}
	for _, l := range r.Leaks {
		fmt.Fprintf(w, "\n%d × [%s] goroutine %d:\n", l.Count, l.WaitReason, l.Goids[0])
		for i, f := range l.Stack {
			if i == maxStack {
				fmt.Fprintf(w, "\t... %d more frames\n", len(l.Stack)-maxStack)
				break
			}
			fmt.Fprintf(w, "\t%s\n", f)
		}
		fmt.Fprintf(w, "\tcreated by %s\n", l.CreationSite)
	}
	if r.Mark.Unconfirmed > 0 {
		fmt.Fprintf(w, "\n(%d more goroutines looked leaked to one mark only: not reported)\n", r.Mark.Unconfirmed)
	}
}
