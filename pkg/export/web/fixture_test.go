package web

import (
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// fakeSource serves a snapshot the test sets.
type fakeSource struct {
	mu   sync.Mutex
	snap model.Snapshot
}

func (f *fakeSource) Snapshot() model.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeSource) set(s model.Snapshot) {
	f.mu.Lock()
	f.snap = s
	f.mu.Unlock()
}

// sample is a full sample of pid at t with RSS rss (MiB), the heap at half
// of it, queue finalizers queued and 10+queue goroutines.
func sample(pid int, t time.Time, rssMiB uint64, queue int64) *model.Sample {
	q := queue
	return &model.Sample{
		Time: t, PID: pid, GoVersion: "go1.26.8", RSSBytes: rssMiB << 20,
		Finalizers: model.Finalizers{QueueLength: &q},
		Heap:       &model.Heap{InuseBytes: rssMiB << 19},
		Goroutines: &model.Goroutines{Total: 10 + int(queue), User: 8 + int(queue)},
		FDs:        model.FDs{Open: 7},
	}
}

// watching is a watched process with its latest sample s.
func watching(pid int, comm string, s *model.Sample) model.Process {
	return model.Process{
		PID: pid, Comm: comm, Exe: "/usr/bin/" + comm, GoVersion: "go1.26.8",
		State: model.StateWatching, Sample: s,
	}
}

func snapshot(at time.Time, procs ...model.Process) model.Snapshot {
	return model.Snapshot{Time: at, Processes: procs, Stats: model.Stats{Ready: true}}
}
