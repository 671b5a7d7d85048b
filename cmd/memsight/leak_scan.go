package main

import (
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/goruntime/leak"
	"github.com/memsight/memsight/pkg/observe"
)

// agentLeakMaxMemory is the agent's default --leak-max-memory: a scan (one
// at a time on a node) stays well inside the agent's memory budget;
// agentLeakReadRate is the agent's default --leak-read-rate.
const (
	agentLeakMaxMemory = 24 << 20
	agentLeakReadRate  = 64 << 20
)

// addLeakScanFlags adds the goroutine-leak verdict flags of attach and the
// agent: off unless --leak-scan is set.
func addLeakScanFlags(f *pflag.FlagSet, dst *observe.LeakScan, suggested string, maxMemory, readRate int64) {
	f.DurationVar(&dst.Every, "leak-scan", 0, "prove leaked goroutines every this often (a goroutine_leak finding; e.g. "+suggested+"): a read-only reachability mark of the heap in the background, like Go 1.27's goroutineleak profile (0: off)")
	f.Int64Var(&dst.ReadRate, "leak-read-rate", readRate, "with --leak-scan, bytes a scan reads from a process per second at most (its CPU is proportional to the bytes: the rate spreads it)")
	f.Int64Var(&dst.MaxMemory, "leak-max-memory", maxMemory, "with --leak-scan, bytes one scan may keep (span tables, mark bits, goroutines; its peak heap is about twice that): larger heaps are not scanned")
}

// checkLeakScan validates the flags.
func checkLeakScan(l observe.LeakScan) error {
	if l.Every < 0 || l.MaxMemory <= 0 {
		return usagef("--leak-scan must not be negative and --leak-max-memory must be positive")
	}
	if l.Every > 0 && l.Every < 2*leak.DefaultGap {
		return usagef("--leak-scan must be at least %v (a scan marks twice, %v apart), got %v", 2*leak.DefaultGap, leak.DefaultGap, l.Every)
	}
	return nil
}
