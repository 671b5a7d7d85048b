package observe

import (
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
)

var cleanupRunners = []string{"runtime.runCleanups"}

// cleanups fills the cleanup queue and, when a cleanup is running, the
// longest-running one with its goroutine's stack. Everything comes from
// memory (the runtime's queue and the cleanup goroutines); with the
// per-object probes, their start times make the ages exact.
func (s *Session) cleanups(out *model.Sample, c probe.Counters, traced bool, mono int64, now time.Time) {
	cl := &out.Cleanups
	if !s.bin.Version.AtLeast(1, 25) {
		out.Unknown["cleanups.queue_length"] = "before go1.25 cleanups share the finalizer queue"
		if traced {
			cl.QueuedTotal, cl.ExecutedTotal = u64(c.CleanupsQueued), u64(c.CleanupsFinished)
		}
		return
	}
	cs, err := s.rt.Cleanups()
	if err != nil {
		out.Unknown["cleanups"] = err.Error()
		return
	}
	cl.QueuedTotal, cl.ExecutedTotal = since(cs.Queued, &s.base.clQueued), since(cs.Executed, &s.base.clExecuted)
	if cs.QueueLength.Known {
		q := int64(cs.QueueLength.V)
		cl.QueueLength = &q
	} else {
		out.Unknown["cleanups.queue_length"] = cs.QueueLength.Why
	}
	var runs []probe.Running
	if traced && s.trace.live("cleanup_call") {
		runs, _ = s.cfg.Probes.RunningCleanups(s.cfg.PID)
	}
	if len(runs) == 0 && !(cs.Running.Known && cs.Running.V > 0) {
		s.forgetCleanups(nil)
		return
	}
	runners, err := s.rt.CleanupRunners(cs.Goroutines.V)
	if err != nil && len(runners) == 0 {
		out.Unknown["cleanups.running"] = err.Error()
		return
	}
	var best *model.Running
	live := map[string]bool{}
	for _, cr := range runners {
		g := cr.Goroutine
		slot := fmt.Sprintf("cleanup %x", g.Addr)
		r := &model.Running{Stack: []string{}}
		describeGoroutine(r, g, cleanupRunners)
		if r.Function == "" && cr.Call == nil {
			continue // between cleanups, in the runner itself, or unreadable
		}
		live[slot] = true
		probed := false
		for _, run := range runs {
			if run.Goid != 0 && g.Goid.Known && run.Goid == g.Goid.V && int64(run.StartNs) <= mono {
				r.Seconds, r.AgeSource, probed = time.Duration(mono-int64(run.StartNs)).Seconds(), "probe", true
			}
		}
		if !probed {
			s.track(r, slot, s.cleanupKey(cr, cs.Executed), g, mono, now)
		}
		if r.Function == "" {
			r.Function = "unknown" // on a CPU: no stack to name it
		}
		if best == nil || r.Seconds > best.Seconds {
			best = r
		}
	}
	s.forgetCleanups(live)
	cl.Running = best
}

// forgetCleanups drops the tracked cleanup calls of the goroutines not in
// live.
func (s *Session) forgetCleanups(live map[string]bool) {
	for slot := range s.calls {
		if len(slot) > 8 && slot[:8] == "cleanup " && !live[slot] {
			delete(s.calls, slot)
		}
	}
}
