package observe

import (
	"errors"
	"fmt"
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
	s.cleanups(out, mono, now)
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
	running := fs.Running.Known && fs.Running.V
	if !running && c.Running == nil {
		return
	}
	r := &Running{Stack: []string{}}
	if g != nil {
		describeGoroutine(r, g, []string{"runtime.runFinalizers", "runtime.runfinq"})
	}
	switch {
	case c.Running != nil && c.Running.StartNs != 0 && int64(c.Running.StartNs) <= mono:
		// The probes saw it start: the exact age.
		r.Seconds = time.Duration(mono - int64(c.Running.StartNs)).Seconds()
		if c.Running.PC != 0 {
			if fr := s.bin.Frames(c.Running.PC-s.bias, false); len(fr) > 0 {
				r.Function = fr[len(fr)-1].PrintName()
			}
		}
	case g != nil && r.State == "blocked":
		if d, ok := g.Blocked(mono); ok {
			r.Seconds, r.AtLeast = d.Seconds(), true
			break
		}
		fallthrough
	default:
		r.Seconds, r.AtLeast = s.seenFor("fin", g, r.Function, now), true
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
	r.Function = calledBy(g.Stack, runners)
}

// calledBy returns the function a runner called: the outermost frame above
// the runner that is not in package runtime (the user's function, behind the
// runtime's call adapters), else the frame right above the runner.
func calledBy(stack []goruntime.Frame, runners []string) string {
	for i, f := range stack {
		if !isOneOf(f.Func, runners) {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if !strings.HasPrefix(stack[j].Func, "runtime.") {
				return stack[j].PrintName()
			}
		}
		if i > 0 {
			return stack[i-1].PrintName()
		}
	}
	return ""
}

func isOneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// seenFor returns how long a running finalizer or cleanup has been seen by
// this session (a lower bound of its age when nothing better is known).
func (s *Session) seenFor(kind string, g *goruntime.Goroutine, fn string, now time.Time) float64 {
	key := kind + "|" + fn
	if g != nil {
		key += fmt.Sprintf("|%d", g.Goid.V)
	}
	first, ok := s.firstSeen[key]
	if !ok {
		// Forget entries of earlier finalizers.
		for k := range s.firstSeen {
			if strings.HasPrefix(k, kind+"|") {
				delete(s.firstSeen, k)
			}
		}
		s.firstSeen[key] = now
		first = now
	}
	return now.Sub(first).Seconds()
}
