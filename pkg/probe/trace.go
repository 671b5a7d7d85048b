package probe

import (
	"strings"
	"time"
)

// DefaultTraceRunTime is the run time of one finalizer, cleanup or GC probe
// program to assume when the kernel's BPF statistics are off (measured on
// the test VM: 0.4–1.4 µs for the finalizer programs, 1.5–3 µs for the
// stop-the-world ones).
const DefaultTraceRunTime = 1500 * time.Nanosecond

// HitCost returns the estimated cost to the target of one hit of the named
// point of a: the kernel's uprobe trap (TrapCost of the probed instruction)
// plus the program's run time. A call site's cost covers both of its
// probes. Unknown names cost 0.
func (a *Attachment) HitCost(name string) time.Duration {
	var d time.Duration
	for i, p := range a.points {
		if strings.TrimSuffix(p, ".resume") == name {
			d += TrapCost(a.emulated[i]) + DefaultTraceRunTime
		}
	}
	return d
}

// PointHits maps a process's counters to hits per probe point name (the
// ProbePoints JSON names; a call site's hits are its calls, each hitting
// its two probes once).
func PointHits(c Counters) map[string]uint64 {
	return map[string]uint64{
		"setfinalizer":    c.FinalizersRegistered,
		"queuefinalizer":  c.FinalizersQueued,
		"finalizer_call":  max(c.FinalizersStarted, c.FinalizersFinished),
		"cleanup_enqueue": c.CleanupsQueued,
		"cleanup_call":    max(c.CleanupsStarted, c.CleanupsFinished),
		"gc_start_cycle":  c.GCCycles,
		"stw_stop":        c.STWPauses,
		"stw_start":       c.STWPauses,
	}
}
