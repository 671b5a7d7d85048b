package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/profiles"
)

// heapRing keeps, per watched process, the heap profile counts of the last
// few ring intervals, so that the evidence of a growth finding can show
// what grew since the start of its window without anyone having taken a
// profile then. Bounded per process (heapRingLength) and in bytes for all
// processes (the oldest counts go first).
type heapRing struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	byPID map[int]*pidRing
}

// pidRing is one process's counts, oldest first. start tells a reused PID
// apart: a ring whose start differs from the watch's is stale.
type pidRing struct {
	start  time.Time
	counts []profiles.Counts
	// skipUntil: the process records no heap profile; it is asked again
	// after this (the program may set MemProfileRate later).
	skipUntil time.Time
}

func newHeapRing(max int64) *heapRing { return &heapRing{max: max, byPID: map[int]*pidRing{}} }

// ring returns pid's ring for a watch started at start, creating or
// resetting it. r.mu is held.
func (r *heapRing) ring(pid int, start time.Time) *pidRing {
	pr := r.byPID[pid]
	if pr == nil || !pr.start.Equal(start) {
		if pr != nil {
			r.drop(pr)
		}
		pr = &pidRing{start: start}
		r.byPID[pid] = pr
	}
	return pr
}

func (r *heapRing) drop(pr *pidRing) {
	for _, c := range pr.counts {
		r.bytes -= int64(c.Size())
	}
	pr.counts = nil
}

// add appends counts to pid's ring and enforces the bounds.
func (r *heapRing) add(pid int, start time.Time, c profiles.Counts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.ring(pid, start)
	pr.counts = append(pr.counts, c)
	r.bytes += int64(c.Size())
	if len(pr.counts) > heapRingLength {
		r.bytes -= int64(pr.counts[0].Size())
		pr.counts = append(pr.counts[:0], pr.counts[1:]...)
	}
	for r.bytes > r.max {
		var oldest *pidRing
		for _, p := range r.byPID {
			if len(p.counts) > 0 && (oldest == nil || p.counts[0].Time.Before(oldest.counts[0].Time)) {
				oldest = p
			}
		}
		if oldest == nil {
			break
		}
		r.bytes -= int64(oldest.counts[0].Size())
		oldest.counts = append(oldest.counts[:0], oldest.counts[1:]...)
	}
}

// skip marks pid as recording no heap profile until until.
func (r *heapRing) skip(pid int, start, until time.Time) {
	r.mu.Lock()
	r.ring(pid, start).skipUntil = until
	r.mu.Unlock()
}

// skipped reports whether pid is known to record no heap profile now.
func (r *heapRing) skipped(pid int, start, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.byPID[pid]
	return pr != nil && pr.start.Equal(start) && now.Before(pr.skipUntil)
}

// baseline returns the counts of pid taken at or before at (the newest
// such), else the oldest it has; ok is false when it has none.
func (r *heapRing) baseline(pid int, start, at time.Time) (profiles.Counts, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.byPID[pid]
	if pr == nil || !pr.start.Equal(start) || len(pr.counts) == 0 {
		return profiles.Counts{}, false
	}
	best := pr.counts[0]
	for _, c := range pr.counts {
		if !c.Time.After(at) {
			best = c
		}
	}
	return best, true
}

// forget drops the rings of the PIDs not in live.
func (r *heapRing) forget(live map[int]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid, pr := range r.byPID {
		if start, ok := live[pid]; !ok || !start.Equal(pr.start) {
			r.drop(pr)
			delete(r.byPID, pid)
		}
	}
}

// Bytes is what the ring keeps.
func (r *heapRing) size() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// ringInterval is how often the ring takes counts; 0: off.
func (a *Agent) ringInterval() time.Duration {
	switch d := a.pf.cfg.HeapRing; {
	case d < 0:
		return 0
	case d > 0:
		return d
	}
	w := a.tunables().Detect.GrowthWindow
	if w <= 0 {
		w = 10 * time.Minute
	}
	return w / 4
}

// profileLoop runs the evidence captures, and every ring interval takes
// the heap counts of every watched process, one process at a time (each
// read waits for a profile slot, so requests go first at most Concurrency
// at a time).
func (a *Agent) profileLoop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.evidenceLoop(ctx) })
	every := a.ringInterval()
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.ringPass(ctx)
		}
	}
}

// ringPass takes the heap counts of every watched process.
func (a *Agent) ringPass(ctx context.Context) {
	live := a.watchedSince()
	a.pf.ring.forget(live)
	now := time.Now()
	for pid, start := range live {
		if ctx.Err() != nil {
			return
		}
		if a.pf.ring.skipped(pid, start, now) {
			continue
		}
		t, _, err := a.profileTarget(pid)
		if err != nil {
			continue
		}
		if err := a.profileSlot(ctx, true); err != nil {
			return
		}
		c, _, err := profiles.HeapCounts(t, profiles.Options{MaxBytes: a.pf.cfg.ReadBudget})
		<-a.pf.sem
		switch err := profileErr(pid, model.ProfileHeap, err); {
		case err == nil:
			a.pf.ring.add(pid, start, c)
		case errors.Is(err, model.ErrNoProfile):
			a.pf.ring.skip(pid, start, now.Add(10*a.ringInterval()))
		default:
			a.log.Debug("heap ring", "pid", pid, "error", err)
		}
	}
}

// watchedSince returns the watched PIDs with when each watch started.
func (a *Agent) watchedSince() map[int]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[int]time.Time, a.watching)
	for pid, e := range a.procs {
		if e.state == stWatching {
			out[pid] = e.since
		}
	}
	return out
}
