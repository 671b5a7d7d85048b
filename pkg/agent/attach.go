package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

// attach attaches to a Go process: the shared attachment of its binary,
// then a session watching its PID, then its worker.
// start is when its inspection began (for the log).
func (a *Agent) attach(ctx context.Context, pid int, info inspected, bin *goexe.Binary, start time.Time) {
	a.mu.Lock()
	if a.watching >= a.tunables().MaxProcesses {
		a.limited(pid, info)
		a.mu.Unlock()
		return
	}
	a.watching++
	a.mu.Unlock()
	sess, sh, mono, reason, err := a.open(pid, info, bin)
	if err != nil {
		a.failAttach(pid, info, reason, err)
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	e := a.startWatching(pid, info, bin, sess, sh, cancel, mono)
	if e == nil {
		cancel()
		a.detach(sess, sh)
		return
	}
	a.log.Info("watching process", "pid", pid, "comm", info.p.Comm, "go_version", bin.GoVersion,
		"container_id", info.p.ContainerID, "binary_processes", a.refs(sh), "duration", time.Since(start).Round(time.Microsecond))
	a.wg.Go(func() { a.work(wctx, e) })
}

// open gets the binary's shared attachment and a session on the process.
// A panic (a bug, or a hostile binary or process) fails only this process.
func (a *Agent) open(pid int, info inspected, bin *goexe.Binary) (sess *observe.SharedSession, sh *shared, mono uint64, reason string, err error) {
	defer func() {
		if r := recover(); r != nil {
			if sh != nil {
				a.release(sh)
			}
			sess, sh, reason, err = nil, nil, model.ReasonPanic, fmt.Errorf("attaching panicked: %v", r)
		}
	}()
	if sh, err = a.acquire(pid, bin); err != nil {
		return nil, nil, 0, probeReason(err), err
	}
	mono = probe.Now()
	cfg := observe.SharedConfig{
		PID: pid, Logger: a.cfg.Logger, Procs: a.cfg.Procs, Probes: a.cfg.Probes,
		Binary: bin, Process: &info.proc, Trace: a.cfg.Trace, OverheadBudget: a.cfg.OverheadBudget,
		SlowEvery: a.cfg.SlowInterval, Leaks: a.cfg.Leaks,
	}
	if sh != nil {
		cfg.Attachment = sh.att
	}
	sess, err = observe.AttachShared(cfg)
	if err != nil {
		a.release(sh)
		return nil, nil, 0, attachReason(err), err
	}
	return sess, sh, mono, "", nil
}

// startWatching records a successful attach; nil when the PID was forgotten
// meanwhile (it vanished from procfs).
func (a *Agent) startWatching(pid int, info inspected, bin *goexe.Binary, sess *observe.SharedSession, sh *shared,
	cancel func(), mono uint64,
) *entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.procs[pid]
	if e == nil || e.state != stInspecting {
		a.watching--
		return nil
	}
	now := time.Now()
	e.info, e.exe, e.bin, e.sess, e.sh, e.cancel, e.watchMono = info.p, info.exe, bin, sess, sh, cancel, mono
	e.attempts, e.retryAt = 0, time.Time{}
	e.set(stWatching, "", now)
	a.initDone(e)
	if a.watching < a.tunables().MaxProcesses {
		a.limitLog = false
	}
	return e
}

// limited records a Go process left out by MaxProcesses. a.mu is held.
func (a *Agent) limited(pid int, info inspected) {
	e := a.procs[pid]
	if e == nil {
		return
	}
	if !a.limitLog {
		a.limitLog = true
		a.log.Warn("--max-processes reached: not watching this and further Go processes until a watched one exits",
			"max_processes", a.tunables().MaxProcesses, "pid", pid, "comm", info.p.Comm)
	} else {
		a.log.Debug("--max-processes reached: not watching", "pid", pid, "comm", info.p.Comm)
	}
	e.info, e.exe = info.p, info.exe
	e.set(stLimited, fmt.Sprintf("--max-processes %d reached", a.tunables().MaxProcesses), time.Now())
	a.initDone(e)
}

// failAttach records a failed attach of a Go process.
func (a *Agent) failAttach(pid int, info inspected, reason string, err error) {
	a.mu.Lock()
	a.watching--
	a.mu.Unlock()
	// A process that exits while being attached is no error: /proc/PID/exe
	// of an exited (or zombie) process no longer resolves.
	if errors.Is(err, process.ErrNoProcess) || errors.Is(err, os.ErrNotExist) || a.gone(pid) {
		a.finish(pid, func(e *entry, _ time.Time) { delete(a.procs, pid) })
		return
	}
	a.countError(reason)
	a.finish(pid, func(e *entry, now time.Time) {
		e.info, e.exe = info.p, info.exe
		a.fail(e, reason, err.Error(), now, reason != model.ReasonPermission && reason != model.ReasonUnsupported)
	})
}

// gone reports whether pid has exited (a zombie has).
func (a *Agent) gone(pid int) bool {
	st, err := a.cfg.Procs.ThreadState(pid, pid)
	return err != nil && errors.Is(err, process.ErrNoProcess) || st == "Z" || st == "X"
}

// fail sets e failed; retry schedules another attempt with backoff. a.mu is held.
func (a *Agent) fail(e *entry, reason, msg string, now time.Time, retry bool) {
	if e.attempts == 0 {
		a.log.Warn("attaching to process", "pid", e.pid, "comm", e.info.Comm, "reason", reason, "error", msg)
	} else {
		a.log.Debug("attaching to process again", "pid", e.pid, "reason", reason, "error", msg, "attempt", e.attempts+1)
	}
	e.attempts++
	e.retryAt = time.Time{}
	if retry {
		e.retryAt = now.Add(min(a.cfg.Reconcile<<min(e.attempts-1, 16), maxRetryBackoff))
	}
	st := stFailed
	if reason == model.ReasonUnsupported {
		st = stUnsupported
	}
	e.set(st, msg, now)
}

// probeReason classifies an error attaching the probes.
func probeReason(err error) string {
	if errors.Is(err, probe.ErrPermission) || errors.Is(err, os.ErrPermission) {
		return model.ReasonPermission
	}
	return model.ReasonProbe
}

// attachReason classifies an error of observe.AttachShared.
func attachReason(err error) string {
	switch {
	case errors.Is(err, process.ErrPermission), errors.Is(err, os.ErrPermission): // probe.ErrPermission too
		return model.ReasonPermission
	case errors.Is(err, goexe.ErrUnsupportedGo):
		return model.ReasonUnsupported
	}
	return model.ReasonRuntime
}
