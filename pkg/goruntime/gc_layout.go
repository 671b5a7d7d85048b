package goruntime

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// How GCState.HeapGoal was obtained.
const (
	// HeapGoalRuntime: computed as the runtime's inlined
	// gcControllerState.heapGoal() does (what MemStats.NextGC reports): the
	// GOGC goal, lowered by the memory-limit goal, raised to the sweep
	// distance and to 64 KiB above the trigger point of a running cycle.
	HeapGoalRuntime = "runtime"
	// HeapGoalGOGC: gcController.gcPercentHeapGoal, the goal GOGC alone
	// sets, because the offsets the memory-limit and sweep adjustments need
	// are unknown. It equals MemStats.NextGC unless GOMEMLIMIT binds or a
	// cycle runs late.
	HeapGoalGOGC = "gogc"
)

// Constants of the runtime's heap goal (mgcpacer.go; the same 1.21–1.27, 1.20
// has a fixed 1 MiB headroom and no percentage).
const (
	memoryLimitMinHeapGoalHeadroom     = 1 << 20
	memoryLimitHeapGoalHeadroomPercent = 3
	minRunway                          = 64 << 10
)

// gcLayout holds the offsets GC needs: in runtime.memstats, and in
// runtime.gcController (ctl: field -> offset; absent when unknown).
type gcLayout struct {
	numgc, numforcedgc, pauseTotal, pauseNs uint64
	ctlSize                                 int64
	ctl                                     map[string]uint64
}

// Fields of runtime.gcControllerState GC reads; the optional ones only feed
// the heap goal.
var (
	gcCtlRequired = []string{"gcPercent", "memoryLimit", "heapLive", "heapMarked", "heapInUse", "totalAlloc", "totalFree"}
	gcCtlGoal     = []string{"gcPercentHeapGoal", "sweepDistMinTrigger", "triggered", "heapFree", "mappedReady"}
)

func (r *Runtime) gcLayout() (gcLayout, error) {
	if r.gcl == nil {
		l, err := r.computeGCLayout()
		r.gcl = &gcLayoutResult{l, err}
	}
	return r.gcl.l, r.gcl.err
}

// gcLayoutResult is the layout computed once per Runtime.
type gcLayoutResult struct {
	l   gcLayout
	err error
}

func (r *Runtime) computeGCLayout() (gcLayout, error) {
	var l gcLayout
	for _, f := range []struct {
		p    *uint64
		name string
	}{{&l.numgc, "numgc"}, {&l.numforcedgc, "numforcedgc"}, {&l.pauseTotal, "pause_total_ns"}, {&l.pauseNs, "pause_ns"}} {
		o, err := r.off("runtime.mstats." + f.name)
		if err != nil {
			return l, err
		}
		*f.p = o
	}
	size, ok := r.l.Size("runtime.gcControllerState")
	if !ok || size <= 0 || size > 4096 {
		return l, fmt.Errorf("size of runtime.gcControllerState unknown for %s: %w", r.b.GoVersion, ErrUnknown)
	}
	l.ctlSize = size
	l.ctl = map[string]uint64{}
	for _, f := range gcCtlRequired {
		o, err := r.off("runtime.gcControllerState." + f)
		if err != nil {
			return l, err
		}
		l.ctl[f] = o
	}
	for _, f := range gcCtlGoal {
		if o, ok := r.l.Off("runtime.gcControllerState." + f); ok {
			l.ctl[f] = uint64(o)
		}
	}
	for f, o := range l.ctl {
		if int64(o)+8 > size {
			return l, fmt.Errorf("runtime.gcControllerState.%s at %d outside its %d bytes: %w", f, o, size, ErrUnknown)
		}
	}
	return l, nil
}

// decodeController fills the gcController values of st from a copy of the
// struct. percentHeadroom is false for Go 1.20 (fixed 1 MiB headroom).
func (l gcLayout) decodeController(st *GCState, ctl []byte, percentHeadroom bool) {
	le := binary.LittleEndian
	u64 := func(f string) uint64 { return le.Uint64(ctl[l.ctl[f]:]) }
	st.GCPercent = knownInt(int64(int32(le.Uint32(ctl[l.ctl["gcPercent"]:]))))
	st.MemoryLimit = knownInt(int64(u64("memoryLimit")))
	st.HeapLive = knownUint(u64("heapLive"))
	st.HeapMarked = knownUint(u64("heapMarked"))
	st.HeapInUse = knownUint(u64("heapInUse"))
	st.TotalAlloc = knownUint(u64("totalAlloc"))
	st.TotalFree = knownUint(u64("totalFree"))

	var missing []string
	for _, f := range gcCtlGoal {
		if _, ok := l.ctl[f]; !ok {
			missing = append(missing, f)
		}
	}
	switch {
	case len(missing) == 0:
		st.HeapGoal = knownUint(heapGoal(goalInputs{
			percentGoal: u64("gcPercentHeapGoal"), sweepDistMinTrigger: u64("sweepDistMinTrigger"),
			triggered: u64("triggered"), heapFree: u64("heapFree"), mappedReady: u64("mappedReady"),
			memoryLimit: st.MemoryLimit.V, heapMarked: st.HeapMarked.V,
			heapAlloc: st.TotalAlloc.V - min(st.TotalFree.V, st.TotalAlloc.V), percentHeadroom: percentHeadroom,
		}))
		st.HeapGoalKind = HeapGoalRuntime
	case slices.Contains(missing, "gcPercentHeapGoal"):
		st.HeapGoal = unknownUint("offset of runtime.gcControllerState.gcPercentHeapGoal unknown (not in the layout)")
	default:
		st.HeapGoal = knownUint(u64("gcPercentHeapGoal"))
		st.HeapGoalKind = HeapGoalGOGC
	}
}

// goalInputs are the gcController words heapGoal needs.
type goalInputs struct {
	percentGoal, sweepDistMinTrigger, triggered  uint64
	heapFree, mappedReady, heapMarked, heapAlloc uint64
	memoryLimit                                  int64
	percentHeadroom                              bool
}

// heapGoal is gcControllerState.heapGoalInternal (mgcpacer.go), which the
// runtime always inlines.
func heapGoal(in goalInputs) uint64 {
	goal := in.percentGoal
	if lim := memoryLimitHeapGoal(in); lim < goal {
		return lim
	}
	if in.sweepDistMinTrigger > goal {
		goal = in.sweepDistMinTrigger
	}
	if in.triggered != math.MaxUint64 && goal < in.triggered+minRunway {
		goal = in.triggered + minRunway
	}
	return goal
}

// memoryLimitHeapGoal is gcControllerState.memoryLimitHeapGoal. The runtime
// re-reads its inputs until heapFree+heapAlloc <= mappedReady; a read that
// breaks it (a torn read) gives the GOGC goal no competition.
func memoryLimitHeapGoal(in goalInputs) uint64 {
	if in.heapFree+in.heapAlloc > in.mappedReady || in.memoryLimit < 0 {
		return math.MaxUint64
	}
	limit := uint64(in.memoryLimit)
	nonHeap := in.mappedReady - in.heapFree - in.heapAlloc
	var overage uint64
	if in.mappedReady > limit {
		overage = in.mappedReady - limit
	}
	if nonHeap+overage >= limit {
		return in.heapMarked
	}
	goal := limit - (nonHeap + overage)
	headroom := uint64(memoryLimitMinHeapGoalHeadroom)
	if in.percentHeadroom {
		headroom = max(goal/100*memoryLimitHeapGoalHeadroomPercent, memoryLimitMinHeapGoalHeadroom)
	}
	if goal < headroom || goal-headroom < headroom {
		goal = headroom
	} else {
		goal -= headroom
	}
	return max(goal, in.heapMarked)
}

// percentile returns the nearest-rank q-quantile of v (not modified) and
// its maximum.
func percentile(v []uint64, q float64) (p, hi uint64) {
	s := slices.Clone(v)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	rank = min(max(rank, 0), len(s)-1)
	return s[rank], s[len(s)-1]
}
