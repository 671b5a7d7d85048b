package observe

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

// Sample takes one sample of the process. Once the process is gone, it
// returns an error wrapping process.ErrNoProcess.
func (s *Session) Sample() (*model.Sample, error) {
	now := time.Now()
	mono, err := goruntime.MonotonicNow()
	if err != nil {
		return nil, err
	}
	pid := s.cfg.PID
	m, err := s.readMemory(now)
	if err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return nil, exited(pid, s.proc.Comm)
		}
		return nil, fmt.Errorf("reading memory usage of pid %d: %w", pid, err)
	}
	out := &model.Sample{
		Time: now, PID: pid, Comm: s.proc.Comm, GoVersion: s.bin.GoVersion,
		RSSBytes: m.RSS,
		RSS:      model.RSS{AnonBytes: m.RssAnon, FileBytes: m.RssFile, ShmemBytes: m.RssShmem, HWMBytes: m.VmHWM, Threads: m.Threads},
		Findings: []model.Finding{},
		Unknown:  map[string]string{},
	}
	c, traced := s.traced()
	s.finalizers(out, c, traced, mono, now)
	s.cleanups(out, c, traced, mono, now)
	s.sampleAlloc(out)
	s.memory(out, m)
	s.goroutines(out, now)
	s.leaks(out, now)
	if s.trace != nil {
		out.Trace = s.trace.snapshot()
	}
	s.samples++
	if len(out.Unknown) == 0 {
		out.Unknown = nil
	}
	if !process.Alive(pid) {
		return nil, exited(pid, s.proc.Comm)
	}
	return out, nil
}

var finalizerRunners = []string{"runtime.runFinalizers", "runtime.runfinq"}

// finalizers fills the finalizer queue, the finalizer goroutine and the
// finalizer running now, from memory: the runtime's counters and
// fingStatus, the finalizer goroutine, and the call in its runner's frame,
// whose identity from sample to sample ages it (track). With the
// per-object probes (traced), they also give registered_total, the totals
// before Go 1.25 and the exact start of each call.
func (s *Session) finalizers(out *model.Sample, c probe.Counters, traced bool, mono int64, now time.Time) {
	f := &out.Finalizers
	switch {
	case traced && !s.trace.live("setfinalizer"):
		// What it counted before the governor detached it is a part.
		out.Unknown["finalizers.registered_total"] = "the SetFinalizer probe was detached by the overhead governor (raise --overhead-budget to keep it)"
	case traced:
		f.RegisteredTotal = u64(c.FinalizersRegistered)
	default:
		out.Unknown["finalizers.registered_total"] = "the runtime does not count SetFinalizer calls: only --trace-finalizers does"
	}
	fs, err := s.rt.Finalizers()
	if err != nil {
		out.Unknown["finalizers"] = err.Error()
		s.forget("fin")
		return
	}
	f.QueuedTotal, f.ExecutedTotal = since(fs.Queued, &s.base.finQueued), since(fs.Executed, &s.base.finExecuted)
	if f.QueuedTotal == nil && traced {
		f.QueuedTotal, f.ExecutedTotal = u64(c.FinalizersQueued), u64(c.FinalizersFinished)
	}
	if f.QueuedTotal == nil {
		out.Unknown["finalizers.queued_total"] = fs.Queued.Why
		out.Unknown["finalizers.executed_total"] = fs.Executed.Why
	}
	if fs.QueueLength.Known {
		q := int64(fs.QueueLength.V)
		f.QueueLength = &q
	} else {
		out.Unknown["finalizers.queue_length"] = fs.QueueLength.Why
	}
	g := fs.Goroutine
	if g != nil {
		gs := &model.GoroutineState{Goid: g.Goid.V, Status: g.StatusName, WaitReason: g.WaitReason.V}
		if d, ok := g.Blocked(mono); ok && g.StatusName == "waiting" {
			sec := d.Seconds()
			gs.WaitSeconds = &sec
		}
		f.Goroutine = gs
	}
	probed := traced && c.Running != nil && s.trace.live("finalizer_call")
	if !(fs.Running.Known && fs.Running.V) && !probed {
		s.forget("fin")
		return
	}
	r := &model.Running{Stack: []string{}}
	if g != nil {
		describeGoroutine(r, g, finalizerRunners)
	}
	if fs.Call != nil && fs.Call.PC != 0 {
		// The funcval names the finalizer even when no stack can be read
		// (its goroutine is on a CPU).
		if fr := s.bin.Frames(fs.Call.PC-s.bias, false); len(fr) > 0 && r.Function == "" {
			r.Function = fr[len(fr)-1].PrintName()
		}
	} else if fs.CallErr != "" {
		out.Unknown["finalizers.running.call"] = fs.CallErr
	}
	if probed && int64(c.Running.StartNs) != 0 {
		// Seen starting by the probes. Its start may be later than mono,
		// which was read before the counters: then it has just started.
		if start := int64(c.Running.StartNs); start <= mono {
			r.Seconds = time.Duration(mono - start).Seconds()
		}
		if r.Function == "" && c.Running.PC != 0 {
			if fr := s.bin.Frames(c.Running.PC-s.bias, false); len(fr) > 0 {
				r.Function = fr[len(fr)-1].PrintName()
			}
		}
		r.AgeSource = "probe"
		s.forget("fin")
	} else {
		s.track(r, "fin", s.finalizerKey(fs), g, mono, now)
	}
	if r.Function == "" {
		r.Function = "unknown"
	}
	f.Running = r
}

// describeGoroutine fills the state, stack and function of a goroutine that
// runs a finalizer or cleanup called from one of runners.
func describeGoroutine(r *model.Running, g *goruntime.Goroutine, runners []string) {
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

// exited is the error of a sample or attach of a process that is gone.
func exited(pid int, comm string) error {
	return fmt.Errorf("pid %d (%s) exited: %w", pid, comm, process.ErrNoProcess)
}
