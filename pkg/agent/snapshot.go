package agent

import (
	"maps"
	"sort"
	"time"

	"github.com/memsight/memsight/pkg/observe"
)

// States of a Go process in a Snapshot.
const (
	// StateWatching: attached and sampled.
	StateWatching = "watching"
	// StateFailed: attaching failed; Reason says why. Retried with backoff
	// unless the reason is permanent.
	StateFailed = "failed"
	// StateUnsupported: memsight cannot attach to this executable (Reason).
	StateUnsupported = "unsupported"
	// StateMaxProcesses: not watched because MaxProcesses are; attached
	// when one of them exits.
	StateMaxProcesses = "max_processes"
	// StateIgnored: not watched because its pod is annotated
	// memsight.io/ignore: "true" (Reason names the pod); attached once the
	// annotation is removed.
	StateIgnored = "ignored"
	// StateExcluded: not watched because of a cgroup, namespace or pod
	// selector filter (Reason names it; see Filters).
	StateExcluded = "excluded"
)

// Process is one Go process the agent knows, watched or not.
type Process struct {
	PID       int    `json:"pid"`
	Comm      string `json:"comm"`
	Exe       string `json:"exe"`
	GoVersion string `json:"go_version"`
	BuildID   string `json:"build_id,omitempty"`
	// Build is how the executable was built; nil until it is inspected.
	Build       *Build    `json:"build,omitempty"`
	ContainerID string    `json:"container_id"`
	PodUID      string    `json:"pod_uid"`
	Pod         string    `json:"pod"`             // pod name (Config.Pods); "" outside Kubernetes or while the pod is unknown
	Namespace   string    `json:"namespace"`       // the pod's namespace; "" likewise
	Container   string    `json:"container"`       // the container's name in the pod; "" likewise
	Owner       string    `json:"owner,omitempty"` // the pod's workload (Deployment, StatefulSet, ...); "" likewise
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"` // when the process entered State
	// Sample is the latest sample (findings included), nil before the first
	// or when not watched. It is shared: do not modify it.
	Sample *observe.Sample `json:"-"`
}

// Build is how a Go executable was built, from the file.
type Build struct {
	PIE      bool `json:"pie"`      // position independent (ET_DYN)
	Stripped bool `json:"stripped"` // no .symtab (-ldflags=-s)
	Cgo      bool `json:"cgo"`      // runtime/cgo is linked in
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
	// only by rescanning /proc; see Config.Rescan).
	ExecEvents bool
	// Programs are the BPF programs' run counts and times, by program name
	// (queuefinalizer, finalizer_start, ...); nil when the kernel's BPF
	// statistics are off.
	Programs map[string]ProgramStats
}

// Snapshot is the agent's state at one instant.
type Snapshot struct {
	Time      time.Time
	Processes []Process // the Go processes, by PID
	Stats     Stats
}

// Snapshot returns the Go processes the agent knows with their latest
// samples, and its own counts. It is cheap (no I/O but one BPF map read,
// and one bpf(2) call per BPF program with statistics on) and safe to call
// concurrently with Run.
func (a *Agent) Snapshot() Snapshot {
	now := time.Now()
	a.mu.Lock()
	snap := Snapshot{Time: now, Processes: make([]Process, 0, len(a.procs))}
	st := Stats{
		Binaries:     len(a.bins),
		AttachErrors: maps.Clone(a.attachErrs),
		SampleErrors: a.sampleErrs,
		Skipped:      map[string]int{"max_processes": 0, "min_process_age": 0, "excluded": 0, "ignored": 0},
		Ready:        a.ready,
		ExecEvents:   a.cfg.Probes.ExecEvents(),
	}
	for _, e := range a.procs {
		switch e.state {
		case stPending:
			st.Skipped["min_process_age"]++
		case stExcluded, stExcludedCgroup, stExcludedPod:
			st.Skipped["excluded"]++
		case stLimited:
			st.Skipped["max_processes"]++
		case stIgnored:
			st.Skipped["ignored"]++
		}
		name := e.state.public()
		if name == "" {
			continue
		}
		if e.state == stWatching {
			st.Watched++
		}
		p := e.info
		p.State, p.Reason, p.Since = name, e.reason, e.since
		if e.state == stWatching {
			p.Sample = e.latest
		}
		snap.Processes = append(snap.Processes, p)
	}
	a.mu.Unlock()
	a.enrichAll(snap.Processes)
	sort.Slice(snap.Processes, func(i, j int) bool { return snap.Processes[i].PID < snap.Processes[j].PID })
	if st.AttachErrors == nil {
		st.AttachErrors = map[string]uint64{}
	}
	st.EventsLost, _ = a.cfg.Probes.Drops()
	st.Programs = a.programStats()
	snap.Stats = st
	return snap
}
