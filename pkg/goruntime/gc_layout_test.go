package goruntime

import (
	"encoding/binary"
	"math"
	"testing"
)

func TestGCPausesFromRing(t *testing.T) {
	ring := make([]byte, 8*pauseRing)
	put := func(i int, v uint64) { binary.LittleEndian.PutUint64(ring[8*(i%pauseRing):], v) }
	// 300 cycles: cycle k (0-based) wrote slot k%256; the last 256 are 44..299.
	for k := 0; k < 300; k++ {
		put(k, uint64(1000+k))
	}
	put(299, 7)         // the last pause
	put(100, 1_000_000) // three long ones: p99 of 256 is the third longest
	put(101, 2_000_000)
	put(102, 3_000_000)
	var st GCState
	st.setPauses(300, ring)
	if st.Pauses != 256 || st.LastPauseNs.V != 7 || st.PauseMaxNs.V != 3_000_000 || st.PauseP99Ns.V != 1_000_000 {
		t.Errorf("pauses %d last %v p99 %v max %v", st.Pauses, st.LastPauseNs, st.PauseP99Ns, st.PauseMaxNs)
	}
	ring = make([]byte, 8*pauseRing)
	for k := 0; k < 3; k++ {
		put(k, uint64(1000+k))
	}
	st = GCState{}
	st.setPauses(3, ring) // slots 0..2 only
	if st.Pauses != 3 || st.LastPauseNs.V != 1002 || st.PauseP99Ns.V != 1002 {
		t.Errorf("3 cycles: pauses %d last %v p99 %v", st.Pauses, st.LastPauseNs, st.PauseP99Ns)
	}
	st = GCState{}
	st.setPauses(0, ring)
	if st.LastPauseNs.Known || st.PauseP99Ns.Known || st.PauseP99Ns.Why == "" {
		t.Errorf("no cycle: %+v", st)
	}
}

func TestGCHeapGoal(t *testing.T) {
	noLimit := goalInputs{percentGoal: 8 << 20, triggered: math.MaxUint64, memoryLimit: math.MaxInt64,
		mappedReady: 20 << 20, heapFree: 2 << 20, heapAlloc: 6 << 20, heapMarked: 4 << 20, percentHeadroom: true}
	cases := []struct {
		name string
		mod  func(*goalInputs)
		want uint64
	}{
		{"gogc", func(*goalInputs) {}, 8 << 20},
		{"sweep distance", func(in *goalInputs) { in.sweepDistMinTrigger = 9 << 20 }, 9 << 20},
		{"runway", func(in *goalInputs) { in.triggered = 8<<20 - 1000 }, 8<<20 - 1000 + 64<<10},
		// limit 16 MiB, non-heap 12 MiB: goal 4 MiB - 1 MiB headroom < marked: marked.
		{"limit below marked", func(in *goalInputs) { in.memoryLimit = 16 << 20 }, 4 << 20},
		// limit 100 MiB: goal 88 MiB - 3 % is above the GOGC goal.
		{"limit loose", func(in *goalInputs) { in.memoryLimit = 100 << 20 }, 8 << 20},
		// limit 20 MiB, non-heap 12 MiB: 8 MiB - 1 MiB = 7 MiB < GOGC 8 MiB; no runway.
		{"limit binds", func(in *goalInputs) { in.memoryLimit = 20 << 20; in.triggered = 8 << 20 }, 7 << 20},
		// go1.20: fixed 1 MiB headroom, same here.
		{"limit go1.20", func(in *goalInputs) { in.memoryLimit = 20 << 20; in.percentHeadroom = false }, 7 << 20},
		// over the limit: non-heap + overage >= limit.
		{"over limit", func(in *goalInputs) { in.memoryLimit = 10 << 20 }, 4 << 20},
		// torn: heapFree + heapAlloc > mappedReady ignores the limit.
		{"torn", func(in *goalInputs) { in.memoryLimit = 16 << 20; in.mappedReady = 1 << 20 }, 8 << 20},
	}
	for _, c := range cases {
		in := noLimit
		c.mod(&in)
		if got := heapGoal(in); got != c.want {
			t.Errorf("%s: goal %d, want %d", c.name, got, c.want)
		}
	}
}
