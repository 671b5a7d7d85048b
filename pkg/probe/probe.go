package probe

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
)

// ErrPermission means the kernel refused to load or attach BPF: memsight needs
// root, or CAP_BPF and CAP_PERFMON. It matches process.ErrPermission too,
// memsight's one sentinel for a refused access.
var ErrPermission error = bpfPermission{}

type bpfPermission struct{}

func (bpfPermission) Error() string {
	return "not permitted to use BPF: needs root, or CAP_BPF and CAP_PERFMON (see deploy/)"
}

func (bpfPermission) Is(target error) bool { return target == process.ErrPermission }

// Config configures Probes.
type Config struct {
	// Logger receives debug logs (load and attach times). Nil discards them.
	Logger *slog.Logger
	// Stats turns on the kernel's BPF run-time statistics (system-wide, for as
	// long as the Probes are open) so ProgramStats can report how often each
	// program ran and for how long. It costs two clock reads per program run
	// and needs CAP_SYS_ADMIN.
	Stats bool
	// PerfUprobes attaches with perf-event uprobes even where the kernel
	// has uprobe_multi links (Linux 6.6+), which are the default.
	PerfUprobes bool
	// EventPoll is how often Run looks for new events (default 100ms; a
	// tenth of it after a batch of an eighth of the 1 MiB ring). Run polls:
	// a ProcessExec event arrives within EventPoll too.
	EventPoll time.Duration
	// NoExecEvents leaves the exec tracepoint detached: Run reports no
	// ProcessExec events and ExecEvents is false, as when attaching it fails.
	NoExecEvents bool
}

// Probes is the loaded BPF object. It is safe for concurrent use.
type Probes struct {
	log   *slog.Logger
	objs  memsightObjects
	exit  link.Link
	exec  link.Link // nil when ProcessExec events are off
	stats io.Closer
	poll  time.Duration
	multi bool // attach with uprobe_multi links

	mu          sync.Mutex
	configs     []bool // binconfigs slots in use; slot 0 stays unused
	attachments map[*Attachment]struct{}
	allocSlots  []bool // alloc_hits slots in use (see AttachAlloc)
	allocs      map[*AllocAttachment]struct{}
	reader      *ringbuf.Reader // the running Run's reader
	closed      bool

	closeOnce sync.Once
	closeErr  error
}

// New loads the BPF object and attaches the process-exit and process-exec
// tracepoints. Loading takes a few milliseconds; do it once per memsight
// process. If the exec tracepoint cannot be attached, New logs a warning and
// goes on without ProcessExec events (see ExecEvents).
func New(cfg Config) (*Probes, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Probes{
		log:         log.With("component", "probe"),
		configs:     make([]bool, maxBinconfigs),
		attachments: make(map[*Attachment]struct{}),
		allocSlots:  make([]bool, maxAllocSlots),
		allocs:      make(map[*AllocAttachment]struct{}),
		poll:        cfg.EventPoll,
	}
	if p.poll <= 0 {
		p.poll = 100 * time.Millisecond
	}
	p.configs[0] = true
	start := time.Now()
	spec, err := loadMemsight()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded BPF object: %w", err)
	}
	// uprobe_multi links need only CAP_BPF and CAP_PERFMON; perf uprobes need
	// CAP_SYS_ADMIN since Linux 6.16 (and its stable backports), but work
	// before 6.6, which has no uprobe_multi.
	p.multi = !cfg.PerfUprobes && features.HaveBPFLinkUprobeMulti() == nil
	if p.multi {
		for _, ps := range spec.Programs {
			if ps.Type == ebpf.Kprobe {
				ps.AttachType = ebpf.AttachTraceUprobeMulti
			}
		}
	}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		return nil, loadError(err)
	}
	exit, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exit", Program: p.objs.ProcessExit})
	if err != nil {
		_ = p.objs.Close()
		return nil, fmt.Errorf("attaching raw tracepoint sched_process_exit: %w", permission(err))
	}
	p.exit = exit
	if !cfg.NoExecEvents {
		p.exec = p.attachExec()
	}
	if cfg.Stats {
		if err := p.EnableStats(); err != nil {
			_ = p.Close()
			return nil, err
		}
	}
	p.log.Debug("BPF object loaded", "duration", time.Since(start), "attach_mode", p.AttachMode())
	return p, nil
}

// AttachMode says how uprobes are attached: "uprobe_multi" (a BPF link,
// Linux 6.6+) or "perf_uprobe" (a perf event).
func (p *Probes) AttachMode() string {
	if p.multi {
		return "uprobe_multi"
	}
	return "perf_uprobe"
}

// maxBinconfigs is the size of the binconfigs array (the object's
// MAX_BINCONFIGS): at most this many attachments minus one at a time.
const maxBinconfigs = int(memsightLimitMAX_BINCONFIGS)

func loadError(err error) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("loading BPF object: %w\n%+v", err, ve) //nolint:errorlint // the verifier log, printed in full
	}
	return fmt.Errorf("loading BPF object: %w", permission(err))
}

// permission adds ErrPermission to EPERM/EACCES errors.
func permission(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w: %w", ErrPermission, err)
	}
	return err
}

// Close detaches every attachment, then the tracepoints, then unloads the
// object. It is idempotent.
func (p *Probes) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		atts := make([]*Attachment, 0, len(p.attachments))
		for a := range p.attachments {
			atts = append(atts, a)
		}
		rd := p.reader
		allocs := make([]*AllocAttachment, 0, len(p.allocs))
		for a := range p.allocs {
			allocs = append(allocs, a)
		}
		p.mu.Unlock()

		var errs []error
		for _, a := range allocs {
			errs = append(errs, a.Close())
		}
		for _, a := range atts {
			errs = append(errs, a.Close())
		}
		if p.exec != nil {
			errs = append(errs, p.exec.Close())
		}
		if p.exit != nil {
			errs = append(errs, p.exit.Close())
		}
		if rd != nil {
			errs = append(errs, rd.Close())
		}
		if p.stats != nil {
			errs = append(errs, p.stats.Close())
		}
		errs = append(errs, p.objs.Close())
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// ProgramStats reports per-program statistics, keyed by program name
// (queuefinalizer, finalizer_start, ...). Without Config.Stats, RunTime and
// Runs stay 0.
func (p *Probes) ProgramStats() (map[string]model.ProgramStats, error) {
	out := make(map[string]model.ProgramStats)
	for name, prog := range p.programs() {
		st, err := prog.Stats()
		if err != nil {
			return nil, fmt.Errorf("reading statistics of program %s: %w", name, err)
		}
		out[name] = model.ProgramStats{Runs: st.RunCount, RunTime: st.Runtime}
	}
	return out, nil
}

func (p *Probes) programs() map[string]*ebpf.Program {
	o := &p.objs.memsightPrograms
	return map[string]*ebpf.Program{
		memsightProgQueuefinalizer: o.Queuefinalizer,
		memsightProgSetfinalizer:   o.Setfinalizer,
		memsightProgFinalizerStart: o.FinalizerStart,
		memsightProgFinalizerEnd:   o.FinalizerEnd,
		memsightProgCleanupEnqueue: o.CleanupEnqueue,
		memsightProgCleanupStart:   o.CleanupStart,
		memsightProgCleanupEnd:     o.CleanupEnd,
		memsightProgGcStartCycle:   o.GcStartCycle,
		memsightProgStwStop:        o.StwStop,
		memsightProgStwStart:       o.StwStart,
		memsightProgProcessExit:    o.ProcessExit,
		memsightProgProcessExec:    o.ProcessExec,
		memsightProgAllocProbe:     o.AllocProbe,
	}
}

// Drops returns how many ring-buffer records were lost because the buffer was
// full (events are then missing; counters are unaffected).
func (p *Probes) Drops() (uint64, error) {
	var per []uint64
	if err := p.objs.Drops.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("reading drops map: %w", err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

// Now returns the current CLOCK_MONOTONIC time in nanoseconds, the clock of
// every timestamp probe reports (and of Go's nanotime).
func Now() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}
