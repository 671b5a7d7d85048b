package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
)

// inspect decides what to do with one PID: ignore it, wait, or attach. It
// never fails: whatever goes wrong is recorded on the PID's entry.
func (a *Agent) inspect(ctx context.Context, pid int) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("inspecting process panicked", "pid", pid, "panic", r)
			a.countError(model.ReasonPanic)
			a.finish(pid, func(e *entry, now time.Time) { a.fail(e, model.ReasonPanic, fmt.Sprint(r), now, false) })
		}
	}()
	st, info, bin, ok := a.classify(pid)
	if !ok {
		a.finish(pid, func(e *entry, _ time.Time) { delete(a.procs, pid) })
		return
	}
	if st != stInspecting {
		a.finish(pid, func(e *entry, now time.Time) {
			e.exe = info.exe
			if st == stFailed || st == stUnsupported || st == stIgnored || st == stExcludedCgroup || st == stExcludedPod {
				e.info = info.p
			}
			e.set(st, info.reason, now)
		})
		return
	}
	a.attach(ctx, pid, info, bin, start)
}

// inspected is what classify learnt about a process.
type inspected struct {
	p      model.Process
	proc   process.Process
	exe    exeID
	reason string
}

// classify reads the process and its executable. ok is false when the
// process is gone. The state is stInspecting when it should be attached.
func (a *Agent) classify(pid int) (st state, info inspected, bin *goexe.Binary, ok bool) {
	proc, err := a.cfg.Procs.Get(pid)
	if err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return 0, info, nil, false
		}
		return stOther, info, nil, true
	}
	info.proc = proc
	info.p = model.Process{PID: pid, Comm: proc.Comm, Exe: proc.Exe, ContainerID: proc.ContainerID, PodUID: proc.PodUID}
	pod, known := a.enrich(&info.p)
	dev, ino, err := a.cfg.Procs.ExeKey(pid)
	if err != nil {
		return stOther, info, nil, !errors.Is(err, process.ErrNoProcess)
	}
	info.exe = exeID{dev, ino}
	tun := a.tunables()
	commExcluded := excluded(tun, proc.Comm)
	switch {
	case pid == a.cfg.Self || info.exe == a.selfExe:
		return stOther, info, nil, true
	case commExcluded != "":
		info.reason = commExcluded
		return stExcluded, info, nil, true
	case a.tooYoung(pid, proc.StartTime):
		return stPending, info, nil, true
	}
	bin, err = a.cfg.Cache.ForPID(pid, a.cfg.ProcRoot)
	if bin != nil {
		info.p.GoVersion, info.p.BuildID = bin.GoVersion, bin.BuildID
		info.p.Build = &model.Build{PIE: bin.PIE, Stripped: bin.Stripped, Cgo: bin.UsesCgo}
	}
	switch {
	case errors.Is(err, goexe.ErrNotGo), errors.Is(err, os.ErrNotExist):
		return stOther, info, nil, true
	case errors.Is(err, os.ErrPermission):
		info.reason = a.cfg.Procs.Refused(pid, process.ReadAccess, "opening the executable", err).Error()
		a.countError(model.ReasonPermission)
		return stFailed, info, nil, true
	case bin == nil && errors.Is(err, goexe.ErrUnsupportedGo):
		info.reason = err.Error()
		a.countError(model.ReasonUnsupported)
		return stUnsupported, info, nil, true
	case bin == nil:
		return stOther, info, nil, true // not a Go ELF at all
	case err != nil || !bin.Attachable:
		info.reason = bin.Reason
		if info.reason == "" && err != nil {
			info.reason = err.Error()
		}
		a.countError(model.ReasonUnsupported)
		return stUnsupported, info, nil, true
	}
	if info.reason = a.cgroupVerdict(tun, pid); info.reason != "" {
		return stExcludedCgroup, info, nil, true
	}
	if st, why := a.podState(tun, info.p, pod, known); st != stInspecting {
		info.reason = why
		return st, info, nil, true
	}
	return stInspecting, info, bin, true
}

// tooYoung applies MinProcessAge. The start time from /proc is precise to
// about a second (btime is whole seconds); the first time memsight saw the
// process bounds it from the other side.
func (a *Agent) tooYoung(pid int, start time.Time) bool {
	if a.tunables().MinProcessAge <= 0 {
		return false
	}
	a.mu.Lock()
	if e := a.procs[pid]; e != nil && !e.initial && e.firstSeen.After(start) {
		start = e.firstSeen
	}
	a.mu.Unlock()
	return time.Since(start) < a.tunables().MinProcessAge
}

// oldEnough says whether a pending process may be inspected again: one
// found by the initial scan has only its start time from /proc to go by,
// a later one has been known since firstSeen (tooYoung has the last word).
func (a *Agent) oldEnough(e *entry, now time.Time) bool {
	return e.initial || !now.Before(e.firstSeen.Add(a.tunables().MinProcessAge))
}

// finish updates the entry of an inspected PID under a.mu, if it still is
// the one being inspected; readiness counts it.
func (a *Agent) finish(pid int, f func(e *entry, now time.Time)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.procs[pid]
	if e == nil || e.state != stInspecting {
		return
	}
	a.initDone(e)
	f(e, time.Now())
}

// initDone counts an initial-scan entry as inspected. a.mu is held.
func (a *Agent) initDone(e *entry) {
	if !e.initial {
		return
	}
	e.initial = false
	a.initLeft--
	if a.initLeft == 0 && !a.ready {
		a.ready = true
		a.log.Info("initial scan inspected", "watching", a.watching)
	}
}
