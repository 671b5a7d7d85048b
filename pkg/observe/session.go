package observe

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/target"
)

// AttachConfig configures a Session on one process.
type AttachConfig struct {
	PID    int
	Logger *slog.Logger
	// Procs reads /proc; its procfs root is the one every read uses (see
	// pkg/target).
	Procs *process.Reader
	Cache *goexe.Cache
	// Probes is needed only for the opt-in probes (Trace, AllocProbes):
	// by default everything is read from memory and /proc, and no probe is
	// attached to the target.
	Probes *probe.Probes
	// Trace selects the opt-in per-object (finalizer, cleanup) and per-GC
	// probes, under the overhead governor.
	Trace probe.Trace
	// AllocProbes turns on the opt-in allocation probes (default AllocOff).
	AllocProbes AllocMode
	// OverheadBudget is the share of one CPU each opt-in probe set (Trace,
	// AllocProbes) may cost before its governor detaches its costliest
	// probes (0: DefaultOverheadBudget).
	OverheadBudget float64
	// SlowEvery is how often the costly reads run: the goroutine census
	// (every g of allgs) and /proc/PID/status (peak RSS, threads, shmem).
	// In between a sample reads the counters, the runtime's state, statm
	// and the fd count, and repeats the last census, unless runtime.allglen
	// grew (new g's: goroutines are piling up). 0: every sample.
	SlowEvery time.Duration
	// Leaks turns on the goroutine-leak verdict in the background (off
	// by default; see LeakScan).
	Leaks LeakScan
}

// Session observes one process: probes attached with a PID filter and
// memory reads, joined into Samples.
type Session struct {
	cfg     AttachConfig
	log     *slog.Logger
	proc    process.Process
	bin     *goexe.Binary
	bias    uint64
	mem     *procmem.Process
	rt      *goruntime.Runtime
	att     *probe.Attachment // the session's own probes; nil without Trace
	watched bool              // Attach watched the PID in the probes' filter
	trace   *traceState       // the governor of the Trace probes; nil without them
	alloc   *allocState       // nil without AttachConfig.AllocProbes
	started time.Time
	// samples counts the samples taken.
	samples int
	// calls tracks the finalizer and cleanup calls seen running, one per
	// runner goroutine (see track).
	calls map[string]*seenCall
	// base holds the runtime's counters at attach: *_total count from it.
	base counterBase
	// pauses is the STW pause histogram of the cycles since attach.
	pauses *pauseHist
	// slow holds the results of the costly reads between their runs.
	slow slowState
	// leak runs the goroutine-leak scans; nil when they are off.
	leak *leakState
}

// newSession fills the defaults of cfg and returns a Session with its
// bookkeeping set up; Attach and AttachShared then attach it.
func newSession(cfg AttachConfig) *Session {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Session{cfg: cfg, log: cfg.Logger.With("component", "observe", "pid", cfg.PID), calls: map[string]*seenCall{}, pauses: newPauseHist()}
	if cfg.Leaks.Every > 0 {
		s.leak = newLeakState(cfg.Leaks)
	}
	return s
}

// Attach inspects the process's executable, attaches the probes (watching
// only this PID) and prepares the memory reader. Errors name what to do.
func Attach(cfg AttachConfig) (_ *Session, err error) {
	s := newSession(cfg)
	cfg = s.cfg
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	tc := target.Config{PID: cfg.PID, Procs: cfg.Procs, Cache: cfg.Cache}
	p, bin, err := target.Inspect(tc)
	if err != nil {
		return nil, err
	}
	if !bin.Attachable {
		return nil, fmt.Errorf("pid %d (%s, %s) is not attachable: %s", cfg.PID, p.Comm, bin.GoVersion, bin.Reason)
	}
	tc.Process, tc.Binary = &p, bin
	if err = s.open(tc); err != nil {
		return nil, err
	}
	s.startCounters()
	if (cfg.Trace.Any() || cfg.AllocProbes != AllocOff) && cfg.Probes == nil {
		return nil, errors.New("observing with opt-in probes: Probes is required")
	}
	if cfg.Probes != nil {
		// Watched, the process is recorded by the opt-in probes; a trace
		// attachment for this PID watches it too.
		if err = cfg.Probes.Watch(cfg.PID); err != nil {
			return nil, err
		}
		s.watched = true
	}
	if cfg.Trace.Any() {
		s.att, err = cfg.Probes.Attach(ProbeTarget(cfg.Procs.Root(), cfg.PID, cfg.PID, s.bin, cfg.Trace))
		if err != nil {
			return nil, fmt.Errorf("attaching probes to pid %d: %w", cfg.PID, err)
		}
		for name, why := range s.att.Skipped() {
			s.log.Info("probe not attached", "point", name, "reason", why)
		}
		s.startTrace(s.att)
	}
	if err = s.attachAlloc(); err != nil {
		return nil, err
	}
	s.started = time.Now()
	return s, nil
}

// open opens the process (pkg/target) for the session.
func (s *Session) open(cfg target.Config) error {
	t, err := target.Open(cfg)
	if err != nil {
		return err
	}
	s.proc, s.bin, s.bias, s.mem, s.rt = t.Process, t.Binary, t.Bias, t.Mem, t.Runtime
	return nil
}

// Binary is the inspected executable.
func (s *Session) Binary() *goexe.Binary { return s.bin }

// Process is the process as it was at attach time.
func (s *Session) Process() process.Process { return s.proc }

// Points lists the attached probe points (none by default).
func (s *Session) Points() []string {
	if s.att == nil {
		return nil
	}
	return s.att.Points()
}

// ProbeTarget describes the executable of process exePID (reached through
// procRoot/PID/exe) for probe.Attach of the trace groups tr. filterPID
// limits the probes to that process; 0 attaches them for every process of
// the file (the agent's shared attachments).
func ProbeTarget(procRoot string, exePID, filterPID int, bin *goexe.Binary, tr probe.Trace) probe.Target {
	goid, schedPC := int64(-1), int64(-1)
	if off, ok := bin.Layout.Off("runtime.g.goid"); ok {
		goid = off
	}
	if off, ok := bin.Layout.Off("runtime.g.sched.pc"); ok {
		schedPC = off
	}
	return probe.Target{
		ExePath:       filepath.Join(procRoot, strconv.Itoa(exePID), "exe"),
		PID:           filterPID,
		Points:        bin.Probes,
		GoMinor:       bin.Version.Minor,
		Arch:          bin.Arch,
		GoidOffset:    goid,
		SchedPCOffset: schedPC,
		Funcs:         bin,
		Trace:         tr,
	}
}

// Close detaches the probes and closes the memory reader. Idempotent.
func (s *Session) Close() error {
	var errs []error
	if s.leak != nil {
		s.leak.close() // before the memory reader it uses
		s.leak = nil
	}
	if s.trace != nil {
		s.trace.close()
		s.trace = nil
	}
	if s.alloc != nil {
		errs = append(errs, s.alloc.close())
		s.alloc = nil
	}
	if s.att != nil {
		errs = append(errs, s.att.Close())
		s.att = nil
	}
	if s.watched {
		errs = append(errs, s.cfg.Probes.Unwatch(s.cfg.PID))
		s.watched = false
	}
	if s.mem != nil {
		errs = append(errs, s.mem.Close())
		s.mem = nil
	}
	errs = append(errs, s.slow.close())
	return errors.Join(errs...)
}
