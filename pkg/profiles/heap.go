package profiles

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/heapprof"
)

// HeapProfile is a heap profile read from a process.
type HeapProfile struct {
	// Profile is what pprof.WriteHeapProfile would have written, with the
	// Target's comments.
	Profile *profile.Profile
	// Snapshot is the bucket list it was made from.
	Snapshot *heapprof.Snapshot
	// ReadBytes is what was read from the target.
	ReadBytes int64

	bin      *goexe.Binary
	bias     uint64
	maps     []heapprof.Mapping
	comments []string
}

// Heap reads the heap profile of t. Errors wrap heapprof's
// (heapprof.ErrNotRecorded when the process records none),
// procmem.ErrBudget when it is larger than o.MaxBytes, or procmem's.
func Heap(t Target, o Options) (*HeapProfile, error) {
	r, err := t.open(o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	snap, err := heapprof.Read(t.Binary, r.mem, r.t.Bias, heapprof.Options{MaxBuckets: o.MaxBuckets})
	if err != nil {
		return nil, r.t.Err("reading the heap profile", err)
	}
	h := &HeapProfile{Snapshot: snap, ReadBytes: r.mem.Used(), bin: t.Binary, bias: r.t.Bias, maps: r.maps, comments: t.Comments}
	h.Profile = h.build(snap)
	return h, nil
}

func (h *HeapProfile) build(s *heapprof.Snapshot) *profile.Profile {
	p := s.Profile(h.bin, h.bias, h.maps)
	p.Comments = append(p.Comments, h.comments...)
	if s.Truncated {
		p.Comments = append(p.Comments, fmt.Sprintf("truncated: only the first %d allocation sites were read", len(s.Records)))
	}
	return p
}

// Counts is a heap snapshot without its stacks: each bucket's address and
// counts, in about 40 bytes per allocation site. The runtime never frees
// or moves a bucket, so a later snapshot of the same process has every
// bucket of an earlier one at the same address, with its stack.
type Counts struct {
	Time    time.Time
	Cycle   uint32
	buckets []bucketCount // by address
}

type bucketCount struct {
	addr                  uint64
	allocs, frees         int64
	allocBytes, freeBytes int64
}

// HeapCounts reads the heap profile of t reduced to its counts, without
// symbolizing it: what a later HeapProfile's Diff and At need. It returns
// the bytes read too. Errors are as Heap's.
func HeapCounts(t Target, o Options) (Counts, int64, error) {
	r, err := t.open(o)
	if err != nil {
		return Counts{}, 0, err
	}
	defer r.close()
	snap, err := heapprof.Read(t.Binary, r.mem, r.t.Bias, heapprof.Options{MaxBuckets: o.MaxBuckets})
	if err != nil {
		return Counts{}, r.mem.Used(), r.t.Err("reading the heap profile", err)
	}
	return countsOf(snap), r.mem.Used(), nil
}

// Counts reduces the profile to its counts.
func (h *HeapProfile) Counts() Counts { return countsOf(h.Snapshot) }

func countsOf(s *heapprof.Snapshot) Counts {
	c := Counts{Time: s.Time, Cycle: s.Cycle}
	for _, r := range s.Records {
		if r.AllocObjects == 0 && r.FreeObjects == 0 {
			continue
		}
		c.buckets = append(c.buckets, bucketCount{r.Addr, r.AllocObjects, r.FreeObjects, r.AllocBytes, r.FreeBytes})
	}
	c.buckets = slices.Clip(c.buckets) // kept for a while: no spare capacity
	slices.SortFunc(c.buckets, func(a, b bucketCount) int {
		switch {
		case a.addr < b.addr:
			return -1
		case a.addr > b.addr:
			return 1
		}
		return 0
	})
	return c
}

// Size is the memory c keeps, in bytes.
func (c Counts) Size() int { return 64 + cap(c.buckets)*40 }

// Zero reports an empty Counts (no snapshot).
func (c Counts) Zero() bool { return c.Time.IsZero() }

func (c Counts) find(addr uint64) (bucketCount, bool) {
	i, ok := slices.BinarySearchFunc(c.buckets, addr, func(b bucketCount, a uint64) int {
		switch {
		case b.addr < a:
			return -1
		case b.addr > a:
			return 1
		}
		return 0
	})
	if !ok {
		return bucketCount{}, false
	}
	return c.buckets[i], true
}

// At rebuilds the heap profile as it was when early was taken, with the
// stacks of h (read later from the same process).
func (h *HeapProfile) At(early Counts) *profile.Profile {
	s := *h.Snapshot
	s.Time, s.Cycle = early.Time, early.Cycle
	s.Records = make([]heapprof.Record, 0, len(early.buckets))
	for _, r := range h.Snapshot.Records {
		if b, ok := early.find(r.Addr); ok {
			r.AllocObjects, r.FreeObjects, r.AllocBytes, r.FreeBytes = b.allocs, b.frees, b.allocBytes, b.freeBytes
			s.Records = append(s.Records, r)
		}
	}
	p := h.build(&s)
	p.Comments = append(p.Comments, fmt.Sprintf("heap profile of %s, stacks from %s", early.Time.Format(time.RFC3339), h.Snapshot.Time.Format(time.RFC3339)))
	return p
}

// Diff returns h minus early: per allocation site, what was allocated and
// freed since early and the change of what is in use — what
// `go tool pprof -base early late` shows. Values may be negative (in use
// memory freed since). The runtime's sampling scale depends only on a
// bucket's object size, so the difference of the scaled values is the
// scaled difference.
func (h *HeapProfile) Diff(early Counts) *profile.Profile {
	s := *h.Snapshot
	s.Records = make([]heapprof.Record, 0, len(h.Snapshot.Records))
	for _, r := range h.Snapshot.Records {
		if b, ok := early.find(r.Addr); ok {
			r.AllocObjects -= b.allocs
			r.FreeObjects -= b.frees
			r.AllocBytes -= b.allocBytes
			r.FreeBytes -= b.freeBytes
		}
		if r.AllocObjects == 0 && r.FreeObjects == 0 {
			continue
		}
		s.Records = append(s.Records, r)
	}
	p := h.build(&s)
	p.DurationNanos = h.Snapshot.Time.Sub(early.Time).Nanoseconds()
	p.Comments = append(p.Comments, fmt.Sprintf("difference: heap profile of %s minus that of %s (go tool pprof -base)",
		h.Snapshot.Time.Format(time.RFC3339), early.Time.Format(time.RFC3339)))
	return p
}
