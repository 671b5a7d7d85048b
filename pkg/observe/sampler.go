package observe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

// maxCleanupScan bounds the goroutines walked to find running cleanups.
const maxCleanupScan = 200_000

// Sample takes one sample of the process. It returns ErrExited once the
// process is gone.
func (s *Session) Sample() (*Sample, error) {
	now := time.Now()
	mono, err := goruntime.MonotonicNow()
	if err != nil {
		return nil, err
	}
	pid := s.cfg.PID
	m, err := s.cfg.Procs.Memory(pid)
	if err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return nil, ErrExited
		}
		return nil, fmt.Errorf("reading memory usage of pid %d: %w", pid, err)
	}
	out := &Sample{
		Time: now, PID: pid, Comm: s.proc.Comm, GoVersion: s.bin.GoVersion,
		RSSBytes: m.RSS,
		RSS:      RSS{AnonBytes: m.RssAnon, FileBytes: m.RssFile, ShmemBytes: m.RssShmem, HWMBytes: m.VmHWM, Threads: m.Threads},
		Findings: []Finding{},
		Unknown:  map[string]string{},
	}
	c, _ := s.cfg.Probes.Counters(pid) // zero until the first probe hit
	out.Finalizers.RegisteredTotal = c.FinalizersRegistered
	out.Finalizers.QueuedTotal = c.FinalizersQueued
	out.Finalizers.ExecutedTotal = c.FinalizersFinished
	out.Cleanups.QueuedTotal = c.CleanupsQueued
	out.Cleanups.ExecutedTotal = c.CleanupsFinished

	s.finalizers(out, c, mono, now)
	s.cleanups(out, c, mono, now)
	s.sampleAlloc(out, now)
	s.memory(out, c, m)
	s.goroutines(out)
	if len(out.Unknown) == 0 {
		out.Unknown = nil
	}
	if !process.Alive(pid) {
		return nil, ErrExited
	}
	return out, nil
}

func (s *Session) finalizers(out *Sample, c probe.Counters, mono int64, now time.Time) {
	fs, err := s.rt.Finalizers()
	if err != nil {
		out.Unknown["finalizers"] = err.Error()
		return
	}
	if fs.QueueLength.Known {
		q := int64(fs.QueueLength.V)
		out.Finalizers.QueueLength = &q
	} else {
		out.Unknown["finalizers.queue_length"] = fs.QueueLength.Why
	}
	g := fs.Goroutine
	if g != nil {
		gs := &GoroutineState{Goid: g.Goid.V, Status: g.StatusName, WaitReason: g.WaitReason.V}
		if d, ok := g.Blocked(mono); ok && g.StatusName == "waiting" {
			sec := d.Seconds()
			gs.WaitSeconds = &sec
		}
		out.Finalizers.Goroutine = gs
	}
	// The probes see every finalizer that starts after attach, so a running
	// finalizer is either one they saw start (exact age), or one that was
	// already running at attach and has not returned since (no start and no
	// return seen yet: its age is at least the time since attach, or since
	// the runtime saw it block). A running bit in memory with neither is a
	// finalizer that returned between the two reads.
	memRunning := fs.Running.Known && fs.Running.V
	preAttach := memRunning && c.FinalizersStarted == 0 && c.FinalizersFinished == 0
	if c.Running == nil && !preAttach {
		return
	}
	r := &Running{Stack: []string{}}
	if g != nil {
		describeGoroutine(r, g, []string{"runtime.runFinalizers", "runtime.runfinq"})
	}
	if c.Running != nil {
		// Seen starting. Its start may be later than mono, which was read
		// before the counters: then it has just started.
		if start := int64(c.Running.StartNs); start != 0 && start <= mono {
			r.Seconds = time.Duration(mono - start).Seconds()
		}
		if c.Running.PC != 0 {
			if fr := s.bin.Frames(c.Running.PC-s.bias, false); len(fr) > 0 {
				r.Function = fr[len(fr)-1].PrintName()
			}
		}
		r.AgeSource = "probe"
	} else {
		s.preAttachAge(r, "fin", g, mono, now)
	}
	if r.Function == "" {
		r.Function = "unknown"
	}
	out.Finalizers.Running = r
}

// describeGoroutine fills the state, stack and function of a goroutine that
// runs a finalizer or cleanup called from one of runners.
func describeGoroutine(r *Running, g *goruntime.Goroutine, runners []string) {
	switch g.StatusName {
	case "waiting":
		r.State = "blocked"
		r.WaitReason = g.WaitReason.V
	case "running", "syscall":
		r.State = g.StatusName
		if g.TID.Known {
			r.TID = int(g.TID.V)
		}
	default:
		r.State = g.StatusName
	}
	for _, f := range g.Stack {
		loc := f.PrintName()
		if f.File != "" {
			loc += fmt.Sprintf(" %s:%d", f.File, f.Line)
		}
		r.Stack = append(r.Stack, loc)
	}
	if f, ok := calledBy(g.Stack, runners); ok {
		r.Function, r.File, r.Line = f.PrintName(), f.File, f.Line
	}
}

// calledBy returns the frame of the function a runner called: the
// outermost frame above the runner that is not in package runtime (the
// user's function, behind the runtime's call adapters), else the frame right
// above the runner.
func calledBy(stack []goruntime.Frame, runners []string) (goruntime.Frame, bool) {
	for i, f := range stack {
		if !slices.Contains(runners, f.Func) {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if !strings.HasPrefix(stack[j].Func, "runtime.") {
				return stack[j], true
			}
		}
		if i > 0 {
			return stack[i-1], true
		}
	}
	return goruntime.Frame{}, false
}
