package observe

import (
	"time"

	"github.com/memsight/memsight/pkg/probe"
)

var cleanupRunners = []string{"runtime.runCleanups"}

// cleanups fills the cleanup queue and, when a cleanup is running, the
// longest-running one with its goroutine's stack.
func (s *Session) cleanups(out *Sample, c probe.Counters, mono int64, now time.Time) {
	if !s.bin.Version.AtLeast(1, 25) {
		out.Unknown["cleanups.queue_length"] = "before go1.25 cleanups share the finalizer queue"
		return
	}
	cs, err := s.rt.Cleanups()
	if err != nil {
		out.Unknown["cleanups"] = err.Error()
		return
	}
	if cs.QueueLength.Known {
		q := int64(cs.QueueLength.V)
		out.Cleanups.QueueLength = &q
	}
	runs, _ := s.cfg.Probes.RunningCleanups(s.cfg.PID)
	if len(runs) == 0 && !(cs.Running.Known && cs.Running.V > 0) {
		return
	}
	// Find the cleanup goroutines that are inside a cleanup function.
	gs, err := s.rt.AllGoroutines(maxCleanupScan)
	if err != nil && len(gs) == 0 {
		out.Unknown["cleanups.running"] = err.Error()
		return
	}
	var best *Running
	for _, g := range gs {
		if g.StartFunc != "runtime.runCleanups" || g.Dead() {
			continue
		}
		if g.StatusName == "waiting" && g.WaitReason.V == "cleanup wait" {
			continue
		}
		full, err := s.rt.Goroutine(g.Addr)
		if err != nil || len(full.Stack) == 0 {
			continue
		}
		r := &Running{Stack: []string{}}
		describeGoroutine(r, full, cleanupRunners)
		if r.Function == "" {
			continue // between cleanups, in the runner itself
		}
		age, source := -1.0, ""
		for _, run := range runs {
			if run.Goid != 0 && full.Goid.Known && run.Goid == full.Goid.V && int64(run.StartNs) <= mono {
				age, source = time.Duration(mono-int64(run.StartNs)).Seconds(), "probe"
			}
		}
		if age < 0 {
			// Not seen starting: running since before attach, unless the
			// probes saw cleanups start or return since (then it is one
			// that started between the probe read and this one).
			// Other cleanup goroutines may have run cleanups since, so
			// with probe hits, only a goroutine blocked since before
			// attach (runtime's waitsince) is known to be the same call.
			s.preAttachAge(r, "cleanup", full, mono, now)
			age, source = r.Seconds, r.AgeSource
			if c.CleanupsStarted != 0 || c.CleanupsFinished != 0 {
				d, ok := full.Blocked(mono)
				if !ok || r.State != "blocked" || d < now.Sub(s.started) {
					continue
				}
			}
		}
		r.Seconds, r.AgeSource, r.AtLeast = age, source, source == "attach"
		if best == nil || r.Seconds > best.Seconds {
			best = r
		}
	}
	out.Cleanups.Running = best
}
