package main

import (
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/probe"
)

// traceOptions are the opt-in probe flags shared by attach and agent.
type traceOptions struct {
	trace          probe.Trace
	overheadBudget float64
}

// addTraceFlags declares --trace-finalizers, --trace-gc and --overhead-budget.
func addTraceFlags(f *pflag.FlagSet, o *traceOptions) {
	f.BoolVar(&o.trace.Finalizers, "trace-finalizers", false,
		"attach per-object uprobes (SetFinalizer, every finalizer and cleanup queued and run): adds registered_total and exact start times, at about 1-10 µs per object to the target, under --overhead-budget")
	f.BoolVar(&o.trace.GC, "trace-gc", false,
		"attach per-GC-cycle uprobes (cycle start, every stop-the-world pause): counts non-GC stop-the-world pauses, under --overhead-budget")
	f.Float64Var(&o.overheadBudget, "overhead-budget", observe.DefaultOverheadBudget,
		"share of one CPU each opt-in probe set (--trace-*, --alloc-probes) may cost a target; its costliest probes are detached beyond it")
}

// checkBudget validates --overhead-budget.
func (o *traceOptions) checkBudget() error {
	if !(o.overheadBudget > 0) {
		return usagef("--overhead-budget must be a positive share of one CPU (0.01 = 1 %%), got %v", o.overheadBudget)
	}
	return nil
}
