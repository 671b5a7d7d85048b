package observe

import (
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/probe"
)

// counterBase holds the runtime's own monotonic counters as read at
// attach; the *_total values of a sample count from them.
type counterBase struct {
	finQueued, finExecuted goruntime.Uint
	clQueued, clExecuted   goruntime.Uint
	numgc                  uint64
	numgcKnown             bool
}

// startCounters reads the counters the *_total values and the pause
// histogram count from. What cannot be read now is taken from the first
// sample that reads it.
func (s *Session) startCounters() {
	if fs, err := s.rt.Finalizers(); err == nil {
		s.base.finQueued, s.base.finExecuted = fs.Queued, fs.Executed
	}
	if s.bin.Version.AtLeast(1, 25) {
		if cs, err := s.rt.Cleanups(); err == nil {
			s.base.clQueued, s.base.clExecuted = cs.Queued, cs.Executed
		}
	}
	if st, err := s.rt.GC(); err == nil && st.Cycles.Known {
		s.pauses.start(uint32(st.Cycles.V))
		s.base.numgc, s.base.numgcKnown = st.Cycles.V, true
	}
}

// since returns v minus its base (setting the base from v when unknown),
// or nil when v is unknown.
func since(v goruntime.Uint, base *goruntime.Uint) *uint64 {
	if !v.Known {
		return nil
	}
	if !base.Known || base.V > v.V {
		*base = v
	}
	d := v.V - base.V
	return &d
}

// traced returns the process's probe counters when the per-object probes
// are attached (and their call probes still are), else false.
func (s *Session) traced() (probe.Counters, bool) {
	if s.trace == nil || !s.trace.tr.Finalizers {
		return probe.Counters{}, false
	}
	c, _ := s.cfg.Probes.Counters(s.cfg.PID) // zero until the first probe hit
	return c, true
}

func u64(v uint64) *uint64 { return &v }
