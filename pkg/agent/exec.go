package agent

import (
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/probe"
)

// FallbackRescan is how often /proc is listed when the probes deliver no
// exec events (probe.Probes.ExecEvents is false) and Config.Rescan is left
// at DefaultRescan: the rescan is then the only way new processes are found.
const FallbackRescan = 250 * time.Millisecond

// closingPoll is how often a process that exec'd while being detached is
// looked at again, until its worker has let it go and it can be inspected
// afresh.
const closingPoll = 20 * time.Millisecond

// pendingRetry is the shortest wait between two inspections of a process
// younger than MinProcessAge (its start time from /proc is only precise to
// about a second).
const pendingRetry = 100 * time.Millisecond

// execs is what the agent knows about execs and inspections, to act on
// exec events: a PID whose last exec is newer than the start of its last
// inspection runs a program memsight has not inspected, and whatever was
// learnt about it (offsets, load bias, Go or not) is stale. Its mutex is
// taken after Agent.mu when both are held.
type execs struct {
	mu        sync.Mutex
	last      map[int]uint64    // PID -> CLOCK_MONOTONIC ns of its last exec event
	inspected map[int]uint64    // PID -> probe.Now() when its last inspection began
	due       map[int]time.Time // PID -> when Run looks at it again (reconsider)
	// wake (buffered) tells Run that due changed.
	wake chan struct{}
}

func newExecs() *execs {
	return &execs{
		last: map[int]uint64{}, inspected: map[int]uint64{}, due: map[int]time.Time{},
		wake: make(chan struct{}, 1),
	}
}

// stale reports whether pid exec'd since its last inspection began.
func (x *execs) stale(pid int) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	ns, ok := x.last[pid]
	return ok && ns > x.inspected[pid]
}

// schedule asks Run to reconsider pid at t (or earlier, if already asked).
func (x *execs) schedule(pid int, t time.Time) {
	x.mu.Lock()
	if d, ok := x.due[pid]; !ok || t.Before(d) {
		x.due[pid] = t
	}
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// takeDue removes and returns the PIDs due at now.
func (x *execs) takeDue(now time.Time) (pids []int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for pid, t := range x.due {
		if !t.After(now) {
			pids = append(pids, pid)
			delete(x.due, pid)
		}
	}
	return pids
}

// next returns when the next PID is due, zero when none is.
func (x *execs) next() time.Time {
	x.mu.Lock()
	defer x.mu.Unlock()
	var next time.Time
	for _, t := range x.due {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// forget drops what is known of the PIDs that are not alive.
func (x *execs) forget(alive map[int]struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, m := range []map[int]uint64{x.last, x.inspected} {
		for pid := range m {
			if _, ok := alive[pid]; !ok {
				delete(m, pid)
			}
		}
	}
}

// rescanInterval is how often Run lists /proc: Config.Rescan, or
// FallbackRescan without exec events when Rescan is left at its default.
func (a *Agent) rescanInterval() time.Duration {
	if !a.cfg.Probes.ExecEvents() && a.cfg.Rescan == DefaultRescan {
		return FallbackRescan
	}
	return a.cfg.Rescan
}

// onExec handles a ProcessExec event: pid exec'd at CLOCK_MONOTONIC ns. It
// returns true when pid should be queued for inspection.
func (a *Agent) onExec(pid int, ns uint64) bool {
	a.exec.mu.Lock()
	if ns > a.exec.last[pid] {
		a.exec.last[pid] = ns
	}
	a.exec.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reconsider(pid, time.Now())
}

// reconsider decides what to do with pid after an exec or when its time
// (execs.due) came; true means queue it for inspection. A process inspected
// since its last exec is left alone, so an exec event and a rescan that
// both saw a new process inspect it once. a.mu is held.
func (a *Agent) reconsider(pid int, now time.Time) bool {
	e := a.procs[pid]
	stale := a.exec.stale(pid)
	switch {
	case e == nil:
		if !stale {
			return false
		}
		if age := a.tunables().MinProcessAge; age > 0 {
			// Just exec'd: nothing is read of it before it is old enough,
			// so a short-lived process (a compiler, a shell's pipeline)
			// costs one event.
			a.procs[pid] = &entry{pid: pid, state: stPending, since: now, firstSeen: now}
			a.exec.schedule(pid, now.Add(age))
			return false
		}
		a.procs[pid] = &entry{pid: pid, state: stInspecting, since: now, firstSeen: now}
		return true
	case e.state == stInspecting:
		// Queued: the inspection will read the new program. Being
		// inspected since before the exec: endInspect calls back.
		return false
	case e.state == stClosing:
		// Its worker is detaching it; inspect it once it is gone.
		if stale {
			a.exec.schedule(pid, now.Add(closingPoll))
		}
		return false
	case e.state == stPending:
		if !a.oldEnough(e, now) {
			a.exec.schedule(pid, e.firstSeen.Add(a.tunables().MinProcessAge))
			return false
		}
		e.set(stInspecting, "", now) // inspect checks the age again
		return true
	case !stale:
		return false
	case e.state == stWatching:
		// The offsets and load bias of the old program must not be used:
		// detach, then inspect the new program.
		a.stopLocked(e, "exec")
		a.exec.schedule(pid, now.Add(closingPoll))
		return false
	}
	e.set(stInspecting, "", now)
	return true
}

// beginInspect records that an inspection of pid starts now: an exec
// before now is the inspection's to see, a later one makes it stale.
func (a *Agent) beginInspect(pid int) {
	start := probe.Now()
	a.exec.mu.Lock()
	a.exec.inspected[pid] = start
	a.exec.mu.Unlock()
}

// endInspect follows up on an inspection of pid: a process that exec'd
// meanwhile is looked at again at once, one too young for MinProcessAge
// when it will be old enough (the rescan would get to it later).
func (a *Agent) endInspect(pid int) {
	if a.exec.stale(pid) {
		a.exec.schedule(pid, time.Now())
		return
	}
	a.mu.Lock()
	e := a.procs[pid]
	pending := e != nil && e.state == stPending
	var at time.Time
	if pending {
		at = e.firstSeen.Add(a.tunables().MinProcessAge)
	}
	a.mu.Unlock()
	if pending {
		if soon := time.Now().Add(pendingRetry); at.Before(soon) {
			at = soon
		}
		a.exec.schedule(pid, at)
	}
}

// runDue reconsiders the PIDs whose time came and returns those to inspect,
// and when to call again (zero: when woken).
func (a *Agent) runDue(now time.Time) (todo []int, next time.Time) {
	pids := a.exec.takeDue(now)
	a.mu.Lock()
	for _, pid := range pids {
		if a.reconsider(pid, now) {
			todo = append(todo, pid)
		}
	}
	a.mu.Unlock()
	return todo, a.exec.next() // reconsider may have scheduled more
}
