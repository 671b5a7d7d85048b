package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/process"
)

// work samples one watched process every Interval until ctx is done or the
// process exits or execs, then detaches it and forgets its entry.
func (a *Agent) work(ctx context.Context, e *entry) {
	log := a.log.With("pid", e.pid, "comm", e.info.Comm)
	tun := a.tunables()
	det := detect.New(tun.Detect)
	why := a.sampleLoop(ctx, e, det, tun)
	// Unwatch before the entry goes: a new process with the same PID is
	// only inspected (and watched) after that.
	a.closeSession(e.sess)
	a.mu.Lock()
	a.watching--
	if a.procs[e.pid] == e {
		delete(a.procs, e.pid) // the next rescan inspects a live PID afresh
	}
	if e.state == stClosing && e.reason != "" {
		why = e.reason
	}
	a.mu.Unlock()
	log.Info("stopped watching process", "reason", why)
	a.findingsGone(e.pid, why)
	a.release(e.sh)
}

// sampleLoop returns why it stopped.
// tun is the Tunables det was made with; a Reconfigure is applied to det
// before the next sample.
func (a *Agent) sampleLoop(ctx context.Context, e *entry, det *detect.Detector, tun *Tunables) string {
	// The first sample is at once; the next ones on a grid of Interval
	// shared by every worker, so that the agent wakes once per interval
	// for all its processes rather than once for each.
	tick := time.NewTimer(time.Until(time.Now().Truncate(a.cfg.Interval).Add(a.cfg.Interval)))
	defer tick.Stop()
	var t *time.Ticker
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	next := tick.C
	for {
		if ctx.Err() != nil {
			return "stopped"
		}
		if a.execedWatched(e) {
			a.stop(e, "exec")
			return "exec"
		}
		if why := a.refreshPod(e); why != "" {
			a.stop(e, why)
			return why
		}
		if t := a.tunables(); t != tun {
			tun = t
			det.SetConfig(t.Detect)
		}
		s, err := sample(e.sess, det)
		switch {
		case errors.Is(err, process.ErrNoProcess):
			a.stop(e, "exited")
			return "exited"
		case errors.Is(err, errPanic):
			a.log.Error("sampling panicked: detaching the process", "pid", e.pid, "error", err)
			a.countError(model.ReasonPanic)
			a.stop(e, "panic")
			return err.Error()
		case err != nil:
			a.log.Debug("sampling", "pid", e.pid, "error", err)
			a.mu.Lock()
			a.sampleErrs++
			a.mu.Unlock()
		default:
			a.mu.Lock()
			// A sample taken across an exec may mix the new program with the
			// old one's offsets: drop it; the exec event detaches e.
			fresh := e.state == stWatching && !a.exec.stale(e.pid)
			if fresh {
				e.latest = s
			}
			start := e.since
			a.mu.Unlock()
			if fresh {
				a.noteFindings(e.pid, start, e.info, s) // evidence of findings firing and resolving
			}
		}
		select {
		case <-ctx.Done():
			return "stopped"
		case <-next:
			if t == nil {
				t = time.NewTicker(a.cfg.Interval)
				next = t.C
			}
		}
	}
}

var errPanic = errors.New("panic")

// sample takes one sample and runs the detectors on it, turning a panic into
// an error wrapping errPanic.
func sample(sess *observe.SharedSession, det *detect.Detector) (s *model.Sample, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	if s, err = sess.Sample(); err != nil {
		return nil, err
	}
	s.Findings = det.Update(s)
	return s, nil
}

// stop marks a watched entry closing from its own worker.
func (a *Agent) stop(e *entry, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e.state == stWatching {
		e.set(stClosing, why, time.Now())
		e.latest = nil
	}
}
