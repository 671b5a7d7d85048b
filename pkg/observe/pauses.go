package observe

import (
	"slices"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
)

// PauseBuckets returns the upper bounds, in nanoseconds, of the pause
// histogram: 10µs to 1s in a 1-2.5-5 series (16 bounds). Go's STW pauses are
// typically tens to hundreds of microseconds; milliseconds are worth a look,
// and anything past 100ms is pathological.
func PauseBuckets() []uint64 {
	return []uint64{
		10e3, 25e3, 50e3, // µs
		100e3, 250e3, 500e3,
		1e6, 2.5e6, 5e6, // ms
		10e6, 25e6, 50e6,
		100e6, 250e6, 500e6,
		1e9,
	}
}

// pauseHist is a session's pause histogram state: the cycle count it has
// seen up to, and the per-bucket (not cumulative) counts.
type pauseHist struct {
	prev   uint32 // numgc at the last update
	known  bool   // prev is set
	bounds []uint64
	counts []uint64 // len(bounds)+1, the last for +Inf
	sumNs  uint64
	count  uint64
	missed uint64
}

func newPauseHist() *pauseHist {
	b := PauseBuckets()
	return &pauseHist{bounds: b, counts: make([]uint64, len(b)+1)}
}

// start sets the cycle from which pauses count (numgc at attach).
func (h *pauseHist) start(numgc uint32) { h.prev, h.known = numgc, true }

// update adds the pauses of the cycles that ended since the last update.
// A read that was torn (a cycle ended while memstats was read) is skipped:
// its cycles are taken at the next consistent read. The first update
// without a start only sets the starting cycle.
func (h *pauseHist) update(st goruntime.GCState) {
	if !st.Cycles.Known || !st.Consistent {
		return
	}
	numgc := uint32(st.Cycles.V)
	if !h.known {
		h.start(numgc)
		return
	}
	pauses, missed := st.PausesSince(h.prev)
	for _, ns := range pauses {
		i, _ := slices.BinarySearch(h.bounds, ns) // first bound ≥ ns: le is inclusive
		h.counts[i]++
		h.sumNs += ns
	}
	h.count += uint64(len(pauses))
	h.missed += missed
	h.prev = numgc
}

// snapshot returns the histogram as a Sample carries it (a copy).
func (h *pauseHist) snapshot() *model.PauseHistogram {
	out := &model.PauseHistogram{
		UpperBoundsSeconds: make([]float64, len(h.bounds)),
		CumulativeCounts:   make([]uint64, len(h.bounds)),
		Count:              h.count,
		SumSeconds:         seconds(h.sumNs),
		Missed:             h.missed,
	}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		out.UpperBoundsSeconds[i] = seconds(b)
		out.CumulativeCounts[i] = cum
	}
	return out
}
