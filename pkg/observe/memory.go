package observe

import (
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
)

// memory fills the GC, heap and file descriptor parts of a sample: the GC
// counters and heap accounting read from the runtime (goruntime.GC), the
// stop-the-world counts the probes saw since attach, and the fd count of
// /proc. GC and Heap stay nil, and Unknown says why, when the runtime could
// not be read; a value that alone is unknown is listed in Unknown and left
// zero.
func (s *Session) memory(out *model.Sample, m process.Memory) {
	out.FDs.Open = m.FDs
	if m.FDs < 0 {
		out.Unknown["fds.open"] = "/proc/PID/fd is not readable"
	}
	st, err := s.rt.GC()
	if err != nil {
		out.Unknown["gc"] = err.Error()
		out.Unknown["heap"] = err.Error()
		return
	}
	gc := &model.GC{
		CyclesTotal:          st.Cycles.V,
		STWPauseSecondsTotal: seconds(st.PauseTotalNs.V),
		GCPercent:            st.GCPercent.V,
	}
	if st.Cycles.Known {
		if !s.base.numgcKnown || s.base.numgc > st.Cycles.V {
			s.base.numgc, s.base.numgcKnown = st.Cycles.V, true
		}
		gc.CyclesSinceAttach = st.Cycles.V - s.base.numgc
	}
	if s.trace != nil && s.trace.tr.GC && s.trace.live("stw_start") {
		if c, ok := s.cfg.Probes.Counters(s.cfg.PID); ok {
			gc.STWPausesSinceAttach = u64(c.STWPauses)
		}
	}
	if gc.STWPausesSinceAttach == nil {
		out.Unknown["gc.stw_pauses_since_attach"] = "stop-the-world pauses other than the GC's are counted only by --trace-gc"
	}
	if st.PauseP99Ns.Known {
		gc.STWPauseP99Seconds = seconds(st.PauseP99Ns.V)
		gc.LastPauseSeconds = seconds(st.LastPauseNs.V)
	} else {
		out.Unknown["gc.stw_pause_p99_seconds"] = st.PauseP99Ns.Why
	}
	if !st.Consistent {
		out.Unknown["gc.consistent"] = "GC cycles kept ending while memstats was read; values are from the last read"
	}
	s.pauses.update(st)
	gc.PauseHistogram = s.pauses.snapshot()
	out.GC = gc
	h := &model.Heap{
		InuseBytes:       st.HeapInUse.V,
		LiveBytes:        st.HeapMarked.V,
		MemoryLimitBytes: st.MemoryLimit.V,
		TotalAllocBytes:  st.TotalAlloc.V,
		TotalFreeBytes:   st.TotalFree.V,
	}
	if st.HeapGoal.Known {
		h.GoalBytes = st.HeapGoal.V
		if st.HeapGoalKind == goruntime.HeapGoalGOGC {
			out.Unknown["heap.goal_bytes"] = "GOGC goal only (gcPercentHeapGoal): the memory-limit adjustment needs offsets unknown for this binary"
		}
	} else {
		out.Unknown["heap.goal_bytes"] = st.HeapGoal.Why
	}
	out.Heap = h
}

func seconds(ns uint64) float64 { return time.Duration(ns).Seconds() }
