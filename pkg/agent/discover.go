package agent

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// listPIDs lists the numeric entries of procfs: the thread group IDs.
func (a *Agent) listPIDs() (map[int]struct{}, error) {
	f, err := os.Open(a.cfg.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", a.cfg.ProcRoot, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", a.cfg.ProcRoot, err)
	}
	pids := make(map[int]struct{}, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids[pid] = struct{}{}
		}
	}
	return pids, nil
}

// rescan compares the PIDs of procfs with the table: new PIDs are queued
// for inspection, vanished ones forgotten (watched ones detached). It also
// queues the PIDs whose turn came: old enough for MinProcessAge, a free slot
// under MaxProcesses, an exec seen. full (the reconcile) also checks every
// known PID's executable for an exec and retries failed attaches.
func (a *Agent) rescan(ctx context.Context, full bool) {
	pids, err := a.listPIDs()
	if err != nil {
		a.log.Warn("rescanning processes", "error", err)
		return
	}
	now := time.Now()
	var todo []int
	a.mu.Lock()
	for pid := range pids {
		e := a.procs[pid]
		if e == nil {
			a.procs[pid] = &entry{pid: pid, state: stInspecting, since: now, firstSeen: now}
			todo = append(todo, pid)
			continue
		}
		if a.due(e, now, full) {
			e.set(stInspecting, "", now)
			todo = append(todo, pid)
		}
	}
	for pid, e := range a.procs {
		if _, ok := pids[pid]; ok {
			continue
		}
		switch e.state {
		case stWatching:
			a.stopLocked(e, "exited")
		case stInspecting, stClosing:
			// Their owner removes them.
		default:
			delete(a.procs, pid)
		}
	}
	a.mu.Unlock()
	a.exec.forget(pids)
	a.enqueue(ctx, todo)
}

// due says whether e should be inspected again now. a.mu is held.
func (a *Agent) due(e *entry, now time.Time, full bool) bool {
	switch e.state {
	case stPending:
		return a.oldEnough(e, now) // inspect checks the age again
	case stLimited:
		return a.watching < a.tunables().MaxProcesses
	case stFailed:
		return full && !e.retryAt.IsZero() && !now.Before(e.retryAt) || full && a.execed(e)
	case stIgnored, stExcludedPod:
		// The pod's memsight.io/ignore annotation was removed, its labels or
		// namespace (or the filters) changed.
		return a.unignored(e)
	case stOther, stExcluded, stExcludedCgroup, stUnsupported:
		young := now.Sub(e.firstSeen) < a.cfg.ExecWindow
		return (young || full) && a.execed(e)
	}
	return false
}

// execedWatched is execed for a watched process, from its worker before
// each sample. With exec events, /proc/PID/exe is only a safety net (for
// an event lost in a full ring buffer): it is looked at every SlowInterval,
// not every sample.
func (a *Agent) execedWatched(e *entry) bool {
	if a.exec.stale(e.pid) {
		return true
	}
	now := time.Now()
	if a.cfg.Probes.ExecEvents() && now.Sub(e.exeChecked) < a.cfg.SlowInterval {
		return false
	}
	e.exeChecked = now
	return a.execed(e)
}

// execed reports whether e's process exec'd since it was inspected: an exec
// event newer than the inspection, or another executable (with exec events
// off, or a missed event; an exec of the same file shows only in events).
func (a *Agent) execed(e *entry) bool {
	if a.exec.stale(e.pid) {
		return true
	}
	dev, ino, err := a.cfg.Procs.ExeKey(e.pid)
	if err != nil {
		return false // gone, or a kernel thread: the next rescan decides
	}
	return (exeID{dev, ino}) != e.exe
}
