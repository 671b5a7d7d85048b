package model

import (
	"iter"
	"time"
)

// Snapshot is the node agent's state at one instant (agent.Agent.Snapshot).
type Snapshot struct {
	Time      time.Time
	Processes []Process // the Go processes, by PID
	Stats     Stats
}

// Stats are the agent's own counts.
type Stats struct {
	// Watched counts the processes being sampled; Binaries the executables
	// with probes attached (one attachment each, shared by its processes).
	Watched, Binaries int
	// AttachErrors counts failed attaches since start, by reason
	// (permission, unsupported, probe, runtime, panic).
	AttachErrors map[string]uint64
	// SampleErrors counts samples that failed for a live process.
	SampleErrors uint64
	// Skipped counts processes not attached now, by reason: max_processes
	// (Go processes waiting for a slot), min_process_age (any process, not
	// yet inspected), excluded (any process left out by ExcludeComm or
	// IncludeComm, Go processes left out by Filters), ignored (Go
	// processes of pods annotated memsight.io/ignore: "true").
	Skipped map[string]int
	// EventsLost counts probe events lost to a full ring buffer.
	EventsLost uint64
	// Ready is set once the initial scan has been inspected.
	Ready bool
	// ExecEvents: new programs are found by the probes' exec events (else
	// only by rescanning /proc; see agent.Config.Rescan).
	ExecEvents bool
	// Programs are the BPF programs' run counts and times, by program name
	// (queuefinalizer, finalizer_start, ...); nil when the kernel's BPF
	// statistics are off.
	Programs map[string]ProgramStats
}

// ProgramStats is how often one of memsight's BPF programs ran, over every
// process, and for how long in total, since they were loaded (pkg/probe;
// zero unless the kernel's BPF statistics are on).
type ProgramStats struct {
	Runs    uint64
	RunTime time.Duration
}

// Attach error reasons (Stats.AttachErrors).
const (
	ReasonPermission  = "permission"  // executable, memory or BPF access denied
	ReasonUnsupported = "unsupported" // a Go executable memsight cannot probe
	ReasonProbe       = "probe"       // attaching the probes failed
	ReasonRuntime     = "runtime"     // the process's runtime or memory could not be read
	ReasonPanic       = "panic"       // a bug: inspecting or sampling panicked
)

// Findings yields the active findings of the snapshot with their process,
// by PID, in each sample's order. Only watched processes have a sample, so
// only they have findings.
func (s Snapshot) Findings() iter.Seq2[Process, Finding] {
	return func(yield func(Process, Finding) bool) {
		for _, p := range s.Processes {
			if p.Sample == nil {
				continue
			}
			for _, f := range p.Sample.Findings {
				if !yield(p, f) {
					return
				}
			}
		}
	}
}
