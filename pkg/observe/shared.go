package observe

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
)

// SharedConfig configures a Session on one process of an executable whose
// probes are attached once for all its processes (probe.Target with PID 0),
// as `memsight agent` does: the Session only watches its PID in the probes'
// filter and reads the process's memory; the attachment belongs to the
// caller, who closes it after the last Session on it.
type SharedConfig struct {
	PID      int
	ProcRoot string // default /proc
	Logger   *slog.Logger
	Procs    *process.Reader
	Probes   *probe.Probes
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
// probes: it computes the load bias, opens the memory reader, and then
// watches the PID, so that the shared probes start counting for it. Counters
// and *_total values count from then. Errors name what to do; an error
// wrapping ErrExited means the process exited meanwhile.
func AttachShared(cfg SharedConfig) (_ *SharedSession, err error) {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Binary == nil || cfg.Probes == nil || cfg.Procs == nil {
		return nil, errors.New("observing a process on a shared attachment: Binary, Probes and Procs are required")
	}
	s := newSession(AttachConfig{
		PID: cfg.PID, ProcRoot: cfg.ProcRoot, Logger: cfg.Logger, Procs: cfg.Procs, Probes: cfg.Probes,
	})
	s.bin = cfg.Binary
	ss := &SharedSession{s: s, probes: cfg.Probes, pid: cfg.PID}
	defer func() {
		if err != nil {
			_ = ss.Close()
		}
	}()
	if cfg.Process != nil {
		s.proc = *cfg.Process
	} else if s.proc, err = cfg.Procs.Get(cfg.PID); err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return nil, fmt.Errorf("pid %d: %w", cfg.PID, ErrExited)
		}
		return nil, err
	}
	if !s.bin.Attachable {
		return nil, fmt.Errorf("pid %d (%s, %s) is not attachable: %s", cfg.PID, s.proc.Comm, s.bin.GoVersion, s.bin.Reason)
	}
	if s.bias, err = s.loadBias(); err != nil {
		return nil, exitedOr(cfg.PID, err)
	}
	if s.mem, err = procmem.OpenWith(cfg.PID, procmem.Options{ProcRoot: cfg.ProcRoot}); err != nil {
		if errors.Is(err, procmem.ErrNoProcess) {
			return nil, fmt.Errorf("pid %d: %w", cfg.PID, ErrExited)
		}
		if errors.Is(err, procmem.ErrPermission) {
			return nil, fmt.Errorf("opening the memory of pid %d (%s): %w: run as root or grant CAP_SYS_PTRACE", cfg.PID, s.proc.Comm, err)
		}
		return nil, fmt.Errorf("opening the memory of pid %d (%s): %w", cfg.PID, s.proc.Comm, err)
	}
	if s.rt, err = goruntime.New(s.bin, s.mem, s.bias); err != nil {
		return nil, fmt.Errorf("reading the runtime of pid %d: %w", cfg.PID, err)
	}
	s.startPauses()
	if err = cfg.Probes.Watch(cfg.PID); err != nil {
		return nil, err
	}
	// A process that exited before Watch left no exit event to forget it:
	// check, so the caller does not keep a watch on a dead PID.
	if !process.Alive(cfg.PID) {
		return nil, fmt.Errorf("pid %d: %w", cfg.PID, ErrExited)
	}
	s.started = time.Now()
	return ss, nil
}

// exitedOr turns an error about a vanished process into ErrExited.
func exitedOr(pid int, err error) error {
	if errors.Is(err, process.ErrNoProcess) || !process.Alive(pid) {
		return fmt.Errorf("pid %d: %w (%w)", pid, ErrExited, err)
	}
	return err
}

// Sample takes one sample of the process, as Session.Sample.
func (ss *SharedSession) Sample() (*Sample, error) { return ss.s.Sample() }

// Binary is the inspected executable.
func (ss *SharedSession) Binary() *goexe.Binary { return ss.s.bin }

// Process is the process as it was at attach time.
func (ss *SharedSession) Process() process.Process { return ss.s.proc }

// Close unwatches the process (forgetting its counters in the kernel) and
// closes the memory reader; the shared attachment stays. Idempotent.
func (ss *SharedSession) Close() error {
	var errs []error
	if ss.probes != nil {
		errs = append(errs, ss.probes.Unwatch(ss.pid))
		ss.probes = nil
	}
	errs = append(errs, ss.s.Close())
	return errors.Join(errs...)
}
