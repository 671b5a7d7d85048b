package agent

import (
	"maps"
	"sort"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Snapshot returns the Go processes the agent knows with their latest
// samples, and its own counts. It is cheap (no I/O but one BPF map read,
// and one bpf(2) call per BPF program with statistics on) and safe to call
// concurrently with Run.
func (a *Agent) Snapshot() model.Snapshot {
	now := time.Now()
	a.mu.Lock()
	snap := model.Snapshot{Time: now, Processes: make([]model.Process, 0, len(a.procs))}
	st := model.Stats{
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
