package web

import (
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/observe"
)

// fakeSource serves a snapshot the test sets.
type fakeSource struct {
	mu   sync.Mutex
	snap agent.Snapshot
}

func (f *fakeSource) Snapshot() agent.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeSource) set(s agent.Snapshot) {
	f.mu.Lock()
	f.snap = s
	f.mu.Unlock()
}

// sample is a full sample of pid at t with RSS rss (MiB), the heap at half
// of it, queue finalizers queued and 10+queue goroutines.
func sample(pid int, t time.Time, rssMiB uint64, queue int64) *observe.Sample {
	q := queue
	return &observe.Sample{
		Time: t, PID: pid, GoVersion: "go1.26.8", RSSBytes: rssMiB << 20,
		Finalizers: observe.Finalizers{QueueLength: &q},
		Heap:       &observe.Heap{InuseBytes: rssMiB << 19},
		Goroutines: &observe.Goroutines{Total: 10 + int(queue), User: 8 + int(queue)},
		FDs:        observe.FDs{Open: 7},
	}
}

// watching is a watched process with its latest sample s.
func watching(pid int, comm string, s *observe.Sample) agent.Process {
	return agent.Process{
		PID: pid, Comm: comm, Exe: "/usr/bin/" + comm, GoVersion: "go1.26.8",
		State: agent.StateWatching, Sample: s,
	}
}

func snapshot(at time.Time, procs ...agent.Process) agent.Snapshot {
	return agent.Snapshot{Time: at, Processes: procs, Stats: agent.Stats{Ready: true}}
}
