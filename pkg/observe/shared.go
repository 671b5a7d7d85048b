package observe

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/target"
)

// SharedConfig configures a Session on one process of an executable whose
// opt-in probes, if any, are attached once for all its processes
// (probe.Target with PID 0), as `memsight agent` does: the Session only
// watches its PID in the probes' filter and reads the process's memory;
// the attachment belongs to the caller, who closes it after the last
// Session on it.
type SharedConfig struct {
	PID    int
	Logger *slog.Logger
	// Procs reads /proc; its procfs root is the one every read uses.
	Procs *process.Reader
	// Probes and Attachment are the opt-in probes: Attachment is the
	// executable's shared attachment of the Trace groups, nil when none
	// (the default: nothing is attached, and Probes may be nil too).
	Probes     *probe.Probes
	Attachment *probe.Attachment
	Trace      probe.Trace
	// OverheadBudget is the share of one CPU the trace probes may cost
	// this process before the governor detaches the costliest points from
	// the shared attachment (0: DefaultOverheadBudget).
	OverheadBudget float64
	// SlowEvery: see AttachConfig.SlowEvery.
	SlowEvery time.Duration
	// Leaks: see AttachConfig.Leaks.
	Leaks LeakScan
	// Binary is the process's executable, as Cache.ForPID returned it; the
	// shared attachment must have been made for this binary.
	Binary *goexe.Binary
	// Process, when set, is the process as the caller already read it
	// (saves reading it again); nil reads it.
	Process *process.Process
}

// SharedSession is a Session on a shared attachment. Close unwatches the
// process and leaves the attachment in place.
type SharedSession struct {
	s      *Session
	probes *probe.Probes
	pid    int
}

// AttachShared prepares a Session on process cfg.PID without attaching
// probes: it computes the load bias, opens the memory reader, and watches
// the PID in the probes' filter, so that its exit is reported and the
// shared probes, if any, start counting for it. *_total values count from
// then. Errors name what to do; an error
// wrapping process.ErrNoProcess means the process exited meanwhile.
func AttachShared(cfg SharedConfig) (_ *SharedSession, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Binary == nil || cfg.Procs == nil || cfg.Attachment != nil && cfg.Probes == nil {
		return nil, errors.New("observing a process on a shared attachment: Binary and Procs are required, and Probes with an Attachment")
	}
	s := newSession(AttachConfig{
		PID: cfg.PID, Logger: cfg.Logger, Procs: cfg.Procs, Probes: cfg.Probes,
		Trace: cfg.Trace, OverheadBudget: cfg.OverheadBudget, SlowEvery: cfg.SlowEvery, Leaks: cfg.Leaks,
	})
	s.bin = cfg.Binary
	ss := &SharedSession{s: s, pid: cfg.PID}
	defer func() {
		if err != nil {
			_ = ss.Close()
		}
	}()
	tc := target.Config{PID: cfg.PID, Procs: cfg.Procs, Binary: cfg.Binary, Process: cfg.Process}
	p, _, err := target.Inspect(tc)
	if err != nil {
		return nil, err
	}
	if !s.bin.Attachable {
		return nil, fmt.Errorf("pid %d (%s, %s) is not attachable: %s", cfg.PID, p.Comm, s.bin.GoVersion, s.bin.Reason)
	}
	tc.Process = &p
	if err = s.open(tc); err != nil {
		return nil, err
	}
	s.startCounters()
	// Watched, the process's exit is reported by the probes' exit event
	// (nothing is attached to the process for that) and its trace probes,
	// if any, count for it.
	if cfg.Probes != nil {
		if err = cfg.Probes.Watch(cfg.PID); err != nil {
			return nil, err
		}
		ss.probes = cfg.Probes
	}
	if cfg.Attachment != nil {
		s.startTrace(cfg.Attachment)
	}
	// A process that exited before Watch left no exit event to forget it:
	// check, so the caller does not keep a watch on a dead PID.
	if !process.Alive(cfg.PID) {
		return nil, exited(cfg.PID, s.proc.Comm)
	}
	s.started = time.Now()
	return ss, nil
}

// Sample takes one sample of the process, as Session.Sample.
func (ss *SharedSession) Sample() (*model.Sample, error) { return ss.s.Sample() }

// Binary is the inspected executable.
func (ss *SharedSession) Binary() *goexe.Binary { return ss.s.bin }

// Process is the process as it was at attach time.
func (ss *SharedSession) Process() process.Process { return ss.s.proc }

// Close unwatches the process (forgetting its counters in the kernel) and
// closes the memory reader; the shared attachment stays. Idempotent.
//
// The trace governor of a shared attachment may have detached points from
// it for all its processes: they stay detached.
func (ss *SharedSession) Close() error {
	var errs []error
	if ss.probes != nil {
		errs = append(errs, ss.probes.Unwatch(ss.pid))
		ss.probes = nil
	}
	errs = append(errs, ss.s.Close())
	return errors.Join(errs...)
}
