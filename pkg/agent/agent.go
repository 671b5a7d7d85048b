package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/probe"
)

// Agent watches every Go process of the machine. Create it with New and
// run it with Run; Snapshot may be called at any time.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	selfExe exeID

	jobs chan int // PIDs to inspect
	wg   sync.WaitGroup
	exec *execs // exec events and inspection times

	mu         sync.Mutex
	procs      map[int]*entry
	bins       map[goexe.Key]*shared
	watching   int // entries watching or being attached (counted against MaxProcesses)
	attachErrs map[string]uint64
	sampleErrs uint64
	initLeft   int // initial-scan entries not inspected yet
	ready      bool
	limitLog   bool // the MaxProcesses warning was logged and not cleared since
	running    bool

	tun atomic.Pointer[Tunables] // set by New and Reconfigure
	pf  *profiler                // profiles on request, heap ring, evidence
}

// New checks cfg and returns an Agent that does nothing until Run.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "agent"),
		jobs:       make(chan int, 1024),
		procs:      map[int]*entry{},
		bins:       map[goexe.Key]*shared{},
		attachErrs: map[string]uint64{},
		exec:       newExecs(),
		pf:         newProfiler(cfg.Profiles),
	}
	a.tun.Store(cfg.tunables())
	if dev, ino, err := cfg.Procs.ExeKey(cfg.Self); err == nil {
		a.selfExe = exeID{dev, ino}
	}
	return a, nil
}

// Run scans /proc, attaches to every Go process found and keeps doing so
// for new ones until ctx is done; then it detaches everything and returns
// nil. New programs are found by the probes' exec events when they are live
// (probe.Probes.ExecEvents), and by rescanning /proc. It returns an error
// only when it cannot start (procfs unreadable, the probes' events already
// read elsewhere). Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("agent: Run called twice")
	}
	a.running = true
	a.mu.Unlock()
	pids, err := a.listPIDs()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer a.shutdown(cancel)

	events := make(chan probe.Event, 256)
	evErr := make(chan error, 1)
	a.wg.Go(func() {
		evErr <- a.cfg.Probes.Run(ctx, func(ev probe.Event) {
			if ev.Kind == probe.ProcessExit || ev.Kind == probe.ProcessExec {
				select {
				case events <- ev:
				case <-ctx.Done():
				}
			}
		})
	})
	for range a.cfg.Inspectors {
		a.wg.Go(func() { a.inspectLoop(ctx) })
	}
	a.wg.Go(func() { a.profileLoop(ctx) }) // heap ring and evidence
	a.initialScan(ctx, pids)

	every := a.rescanInterval()
	a.log.Info("finding new processes", "exec_events", a.cfg.Probes.ExecEvents(), "rescan_interval", every,
		"reconcile_interval", a.cfg.Reconcile)
	rescan := time.NewTicker(every)
	defer rescan.Stop()
	reconcile := time.NewTicker(a.cfg.Reconcile)
	defer reconcile.Stop()
	due := time.NewTimer(time.Hour) // armed by runDue
	due.Stop()
	defer due.Stop()
	runDue := func() {
		todo, next := a.runDue(time.Now())
		if !next.IsZero() {
			due.Reset(time.Until(next))
		}
		a.enqueue(ctx, todo)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-evErr:
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("reading probe events: %w", err)
			}
			return nil
		case ev := <-events:
			switch {
			case ev.Kind == probe.ProcessExit:
				a.exited(ev.PID, ev.Ns)
			case a.onExec(ev.PID, ev.Ns):
				a.enqueue(ctx, []int{ev.PID})
			}
		case <-a.exec.wake:
			runDue()
		case <-due.C:
			runDue()
		case <-rescan.C:
			a.rescan(ctx, false)
		case <-reconcile.C:
			a.rescan(ctx, true)
		}
	}
}

// shutdown stops every goroutine, waits for the workers to detach their
// processes, and closes any attachment left. A worker stuck in a read of a
// hung process is not waited for longer than shutdownWait.
func (a *Agent) shutdown(cancel context.CancelFunc) {
	start := time.Now()
	cancel()
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownWait):
		a.log.Warn("some workers did not stop: detaching their probes anyway", "waited", shutdownWait)
	}
	a.mu.Lock()
	left := make([]*probe.Attachment, 0, len(a.bins))
	for _, sh := range a.bins {
		if sh.att != nil {
			left = append(left, sh.att)
		}
	}
	clear(a.bins)
	a.mu.Unlock()
	var errs []error
	for _, att := range left {
		errs = append(errs, att.Close()) // idempotent: a late worker's release is harmless
	}
	if err := errors.Join(errs...); err != nil {
		a.log.Warn("detaching probes", "error", err)
	}
	a.log.Info("detached from every process", "duration", time.Since(start).Round(time.Millisecond))
}

// initialScan queues every PID found at start; the agent is ready once they
// are all inspected.
func (a *Agent) initialScan(ctx context.Context, pids map[int]struct{}) {
	now := time.Now()
	todo := make([]int, 0, len(pids))
	a.mu.Lock()
	for pid := range pids {
		a.procs[pid] = &entry{pid: pid, state: stInspecting, since: now, firstSeen: now, initial: true}
		todo = append(todo, pid)
	}
	a.initLeft = len(todo)
	a.ready = a.initLeft == 0
	a.mu.Unlock()
	a.log.Info("initial scan", "processes", len(todo))
	a.enqueue(ctx, todo)
}

// enqueue hands PIDs to the inspectors; it blocks while they are busy.
func (a *Agent) enqueue(ctx context.Context, pids []int) {
	for _, pid := range pids {
		select {
		case a.jobs <- pid:
		case <-ctx.Done():
			return
		}
	}
}

func (a *Agent) inspectLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case pid := <-a.jobs:
			a.beginInspect(pid)
			a.inspect(ctx, pid)
			a.endInspect(pid)
		}
	}
}

// exited handles a probe's process-exit event: the watched process pid
// exited at CLOCK_MONOTONIC ns. An event older than the current watch of
// that PID (a reused PID) is ignored.
func (a *Agent) exited(pid int, ns uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.procs[pid]
	if e == nil || e.state != stWatching || ns < e.watchMono {
		return
	}
	a.stopLocked(e, "exited")
}

// stopLocked asks e's worker to detach; the entry stays (closing) until it
// has, so the PID is not inspected again meanwhile. a.mu is held.
func (a *Agent) stopLocked(e *entry, why string) {
	if e.state != stWatching {
		return
	}
	e.set(stClosing, why, time.Now())
	e.latest = nil
	e.cancel()
}

// countError counts a failed attach.
func (a *Agent) countError(reason string) {
	a.mu.Lock()
	a.attachErrs[reason]++
	a.mu.Unlock()
}
