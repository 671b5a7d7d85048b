package goruntime

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// pauseRing is the length of memstats.pause_ns, the runtime's ring of the
// most recent GC pauses ([256]uint64 in every Go version, as
// MemStats.PauseNs).
const pauseRing = 256

// GCState is the garbage collector's state as the runtime keeps it: the
// cycle and pause counters of runtime.memstats and the heap accounting of
// the pacer (runtime.gcController). ReadMemStats derives the corresponding
// MemStats fields from exactly these words, so at a moment when the target
// does not allocate they are equal.
type GCState struct {
	// Cycles is memstats.numgc, the completed GC cycles (runtime.NumGC,
	// MemStats.NumGC); ForcedCycles is memstats.numforcedgc.
	Cycles, ForcedCycles Uint
	// PauseTotalNs is memstats.pause_total_ns (MemStats.PauseTotalNs): the
	// stop-the-world pauses of every GC cycle, as the runtime measures them.
	PauseTotalNs Uint
	// LastPauseNs is the pause of the last cycle, pause_ns[(numgc+255)%256].
	// PauseP99Ns and PauseMaxNs summarize the last Pauses pauses
	// (min(numgc, 256)); p99 is the nearest-rank percentile. All three are
	// unknown before the first cycle.
	LastPauseNs, PauseP99Ns, PauseMaxNs Uint
	Pauses                              int
	// RecentPauses are the pauses of the last min(numgc, 255) cycles,
	// newest first: RecentPauses[i] is cycle numgc-i's (see PausesSince).
	// The ring's 256th slot is left out: it is the one the next cycle
	// overwrites first, possibly while it was read.
	RecentPauses []uint64

	// HeapInUse is gcController.heapInUse, bytes in in-use heap spans:
	// MemStats.HeapInuse.
	HeapInUse Uint
	// HeapLive is gcController.heapLive: bytes retained by the last GC plus
	// those allocated since, counted per span refill (the pacer's input).
	HeapLive Uint
	// HeapMarked is gcController.heapMarked: live heap bytes marked by the
	// last GC.
	HeapMarked Uint
	// TotalAlloc and TotalFree are gcController.totalAlloc/totalFree, the
	// heap bytes ever allocated and freed (MemStats.TotalAlloc; HeapAlloc =
	// TotalAlloc - TotalFree). Bytes are counted when a span leaves a P's
	// cache, so they lag the allocations by up to one span per P.
	TotalAlloc, TotalFree Uint
	// GCPercent is GOGC (gcController.gcPercent; -1: off). MemoryLimit is
	// GOMEMLIMIT in bytes (gcController.memoryLimit; math.MaxInt64: none).
	GCPercent, MemoryLimit Int
	// HeapGoal is the heap size at which the current cycle should end
	// (MemStats.NextGC); HeapGoalKind says how it was obtained, see the
	// HeapGoal* constants.
	HeapGoal     Uint
	HeapGoalKind string

	// Consistent reports that memstats was read between two GC cycle ends:
	// numgc and pause_total_ns were the same before, during and after the
	// read. When the target kept finishing cycles, the last read is kept.
	// The gcController words are independent atomics, each read once.
	Consistent bool
	// Reads is how many times memstats was read (1 + torn retries).
	Reads int
}

// GC reads the GC counters and heap accounting: runtime.memstats (numgc,
// pause_total_ns, pause_ns) and the whole runtime.gcController, in one
// process_vm_readv, then numgc and pause_total_ns once more to check that no
// cycle ended meanwhile (mark termination writes pause_ns, pause_total_ns and
// then numgc with the world stopped). It retries a torn read up to
// maxTornRetries times. The error is set only when nothing could be read;
// individual values carry their own Known and Why.
func (r *Runtime) GC() (GCState, error) {
	var st GCState
	ms, err := r.addr(r.b.Globals.Memstats, "memstats")
	if err != nil {
		return st, err
	}
	gcc, err := r.addr(r.b.Globals.GCController, "gcController")
	if err != nil {
		return st, err
	}
	lay, err := r.gcLayout()
	if err != nil {
		return st, err
	}
	var (
		numgc1, numgc2, numgc3 [4]byte
		forced                 [4]byte
		total1, total2         [8]byte
		ring                   [pauseRing * 8]byte
		ctl                    = make([]byte, lay.ctlSize)
	)
	for st.Reads = 1; ; st.Reads++ {
		// numgc first and last: a cycle that ended while the kernel
		// copied the spans changes one of them.
		if err := procmem.ReadV(r.mem,
			procmem.Span{Addr: ms + lay.numgc, Buf: numgc1[:]},
			procmem.Span{Addr: ms + lay.pauseTotal, Buf: total1[:]},
			procmem.Span{Addr: ms + lay.pauseNs, Buf: ring[:]},
			procmem.Span{Addr: ms + lay.numforcedgc, Buf: forced[:]},
			procmem.Span{Addr: gcc, Buf: ctl},
			procmem.Span{Addr: ms + lay.numgc, Buf: numgc2[:]},
		); err != nil {
			return st, fmt.Errorf("reading runtime.memstats and runtime.gcController: %w", err)
		}
		// Then again: pause_total_ns is written before numgc++, so a
		// cycle ending right around the first read shows here.
		if err := procmem.ReadV(r.mem,
			procmem.Span{Addr: ms + lay.pauseTotal, Buf: total2[:]},
			procmem.Span{Addr: ms + lay.numgc, Buf: numgc3[:]},
		); err != nil {
			return st, fmt.Errorf("re-reading runtime.memstats: %w", err)
		}
		st.Consistent = numgc1 == numgc2 && numgc2 == numgc3 && total1 == total2
		if st.Consistent || st.Reads > maxTornRetries {
			break
		}
	}
	le := binary.LittleEndian
	n := le.Uint32(numgc2[:])
	st.Cycles = knownUint(uint64(n))
	st.ForcedCycles = knownUint(uint64(le.Uint32(forced[:])))
	st.PauseTotalNs = knownUint(le.Uint64(total1[:]))
	st.setPauses(n, ring[:])
	lay.decodeController(&st, ctl, r.b.Version.AtLeast(1, 21))
	return st, nil
}

// setPauses fills the pause statistics from the pause_ns ring: the most
// recent pause is at (numgc+255)%256.
func (st *GCState) setPauses(numgc uint32, ring []byte) {
	if numgc == 0 {
		why := "no GC cycle has completed yet"
		st.LastPauseNs, st.PauseP99Ns, st.PauseMaxNs = unknownUint("%s", why), unknownUint("%s", why), unknownUint("%s", why)
		return
	}
	n := int(min(numgc, pauseRing))
	pauses := make([]uint64, n)
	for i := range pauses {
		idx := (int(numgc) - 1 - i) % pauseRing
		pauses[i] = binary.LittleEndian.Uint64(ring[8*idx:])
	}
	st.Pauses = n
	st.RecentPauses = pauses[:min(n, pauseRing-1)]
	st.LastPauseNs = knownUint(pauses[0])
	p99, hi := percentile(pauses, 0.99)
	st.PauseP99Ns, st.PauseMaxNs = knownUint(p99), knownUint(hi)
}
