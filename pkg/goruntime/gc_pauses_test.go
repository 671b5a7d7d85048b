package goruntime

import (
	"encoding/binary"
	"slices"
	"testing"
)

// TestPausesSince decodes a pause_ns ring that has wrapped (numgc 300:
// cycle c's pause, c×10 ns, at slot (c-1)%256) and returns the pauses of
// the cycles after prev, oldest first; the ring's oldest slot is never
// used, and cycles it no longer holds are missed.
func TestPausesSince(t *testing.T) {
	var ring [pauseRing * 8]byte
	const numgc = 300
	for c := uint64(numgc - pauseRing + 1); c <= numgc; c++ {
		binary.LittleEndian.PutUint64(ring[8*((c-1)%pauseRing):], c*10)
	}
	var st GCState
	st.Cycles = knownUint(numgc)
	st.setPauses(numgc, ring[:])
	if len(st.RecentPauses) != 255 || st.RecentPauses[0] != 3000 || st.RecentPauses[254] != 460 || st.Pauses != 256 {
		t.Fatalf("recent pauses %d, first %d, last %d; pauses %d", len(st.RecentPauses), st.RecentPauses[0], st.RecentPauses[254], st.Pauses)
	}
	for _, c := range []struct {
		prev   uint32
		first  uint64 // cycle of the first pause returned
		missed uint64
	}{
		{prev: 297, first: 298},
		{prev: 300, first: 0},
		{prev: 45, first: 46},
		{prev: 44, first: 46, missed: 1},
		{prev: 0, first: 46, missed: 45},
	} {
		pauses, missed := st.PausesSince(c.prev)
		var want []uint64
		for cyc := c.first; c.first > 0 && cyc <= numgc; cyc++ {
			want = append(want, cyc*10)
		}
		if !slices.Equal(pauses, want) || missed != c.missed {
			t.Errorf("PausesSince(%d): %d pauses (first %v), %d missed; want from cycle %d, %d missed", c.prev, len(pauses), pauses[:min(1, len(pauses))], missed, c.first, c.missed)
		}
	}
	var none GCState
	if p, m := none.PausesSince(0); p != nil || m != 0 {
		t.Errorf("unknown cycles: %v, %d", p, m)
	}
}
