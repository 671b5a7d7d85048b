package probe

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// Watch makes the probes record process pid (its thread group ID in the
// initial PID namespace). Probes of processes that are not watched return at
// once. The kernel side forgets pid when it exits.
func (p *Probes) Watch(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("watching pid %d: invalid pid", pid)
	}
	if err := p.objs.Watched.Put(uint32(pid), uint8(1)); err != nil {
		return fmt.Errorf("watching pid %d: %w", pid, err)
	}
	return nil
}

// Unwatch stops recording pid and forgets its counters and running cleanups.
// Unwatching a process that is not watched is not an error.
func (p *Probes) Unwatch(pid int) error {
	key := uint32(pid)
	var errs []error
	for _, m := range []*ebpf.Map{p.objs.Watched, p.objs.Procs} {
		if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("unwatching pid %d: %w", pid, err))
		}
	}
	var k memsightRunKey
	var r memsightRun
	var stale []memsightRunKey
	it := p.objs.CleanupRuns.Iterate()
	for it.Next(&k, &r) {
		if k.Tgid == key {
			stale = append(stale, k)
		}
	}
	for _, k := range stale {
		if err := p.objs.CleanupRuns.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("unwatching pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// Counters are one process's totals since it was first seen watched. The
// *Ns timestamps are CLOCK_MONOTONIC nanoseconds (see Now).
type Counters struct {
	FinalizersRegistered uint64 // runtime.SetFinalizer calls, SetFinalizer(x, nil) included
	FinalizersQueued     uint64 // finalizers queued to run (the runtime's finqueued)
	FinalizersStarted    uint64
	FinalizersFinished   uint64 // returns seen, including ones whose start was not (see UnpairedEnds)
	CleanupsQueued       uint64
	CleanupsStarted      uint64
	CleanupsFinished     uint64
	CleanupsRunning      uint64 // cleanups started and not yet returned
	GCCycles             uint64 // GC cycles started
	GCEnds               uint64 // GC cycles ended (Go 1.22+)
	STWPauses            uint64 // stop-the-world pauses ended, GC or not
	STWTotal             time.Duration
	STWMax               time.Duration
	STWGCTotal           time.Duration // pause of the GC's two stop-the-worlds
	UnpairedEnds         uint64        // ends without a start: attached mid-call
	EntryRepeats         uint64        // entry hits dropped as morestack re-executions
	ReadErrors           uint64        // failed user-memory reads in the probes
	// Running is the finalizer running now, nil when none is.
	Running *Running
	// LastGCStart is Go's nanotime at the start of the last GC cycle's mark
	// phase (CLOCK_MONOTONIC too), 0 before the first.
	LastGCStart uint64
	// LastGCEndNs is when the last GC cycle ended, 0 before the first.
	LastGCEndNs uint64
}

// Running is a finalizer or cleanup that started and has not returned.
type Running struct {
	StartNs uint64 // CLOCK_MONOTONIC
	PC      uint64 // entry PC of its function, as mapped in the process; 0 if unread
	Goid    uint64 // 0 when unknown
}

func countersOf(s *memsightProcState) Counters {
	c := Counters{
		FinalizersRegistered: s.FinRegistered,
		FinalizersQueued:     s.FinQueued,
		FinalizersStarted:    s.FinStarted,
		FinalizersFinished:   s.FinFinished,
		CleanupsQueued:       s.CleanupQueued,
		CleanupsStarted:      s.CleanupStarted,
		CleanupsFinished:     s.CleanupFinished,
		CleanupsRunning:      s.CleanupsRunning,
		GCCycles:             s.GcCycles,
		GCEnds:               s.GcEnds,
		STWPauses:            s.StwCount,
		STWTotal:             time.Duration(s.StwNsTotal),
		STWMax:               time.Duration(s.StwNsMax),
		STWGCTotal:           time.Duration(s.StwGcNsTotal),
		UnpairedEnds:         s.UnpairedEnds,
		EntryRepeats:         s.EntryRepeats,
		ReadErrors:           s.ReadErrors,
		LastGCStart:          s.LastGcStart,
		LastGCEndNs:          s.LastGcEndNs,
	}
	if s.FinCurStartNs != 0 {
		c.Running = &Running{StartNs: s.FinCurStartNs, PC: s.FinCurPc, Goid: s.FinCurGoid}
	}
	return c
}

// Counters returns pid's counters; false when pid has no state: not watched,
// no probe hit yet, exited, or the Probes are closed.
func (p *Probes) Counters(pid int) (Counters, bool) {
	var s memsightProcState
	if err := p.objs.Procs.Lookup(uint32(pid), &s); err != nil {
		return Counters{}, false
	}
	return countersOf(&s), true
}

// RunningCleanups lists pid's cleanups that started and have not returned.
func (p *Probes) RunningCleanups(pid int) ([]Running, error) {
	var (
		k   memsightRunKey
		r   memsightRun
		out []Running
	)
	it := p.objs.CleanupRuns.Iterate()
	for it.Next(&k, &r) {
		if k.Tgid == uint32(pid) {
			out = append(out, Running{StartNs: r.StartNs, PC: r.Pc, Goid: r.Goid})
		}
	}
	if err := it.Err(); err != nil {
		return out, fmt.Errorf("reading running cleanups of pid %d: %w", pid, err)
	}
	return out, nil
}
