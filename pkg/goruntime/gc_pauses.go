package goruntime

// PausesSince returns the stop-the-world pause totals (ns, as
// MemStats.PauseNs) of the cycles that ended after cycle prev, up to
// Cycles, oldest first, as far as RecentPauses still holds them; missed
// counts the older ones, whose pauses the runtime's ring no longer held
// (more than 255 cycles after prev). prev is a numgc value read earlier from
// the same process; numgc is a uint32, so the difference is taken modulo
// 2^32. Nothing is returned when the cycle count is unknown.
func (st GCState) PausesSince(prev uint32) (pauses []uint64, missed uint64) {
	if !st.Cycles.Known {
		return nil, 0
	}
	n := uint64(uint32(st.Cycles.V) - prev)
	held := min(n, uint64(len(st.RecentPauses)))
	pauses = make([]uint64, held)
	for i := range pauses {
		pauses[i] = st.RecentPauses[int(held)-1-i]
	}
	return pauses, n - held
}
