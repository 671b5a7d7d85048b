package leak

import "fmt"

// heap finds the span of an address the way the runtime's spanOf does:
// mheap_.arenas[0][arenaIndex] is the heapArena, whose spans[page] is the
// mspan. Arenas and spans are read lazily, in batches (resolve), and kept
// for the duration of one mark: the span's geometry, its allocation bits and
// the mark's own bits, never its objects.
type heap struct {
	L    *layout
	r    *reader
	bias uint64 // arenaBaseOffset
	l2   uint64 // address of the L2 arena map (mheap_.arenas[0])
	// arenas maps an arena index to what is known of it; a nil entry is
	// an index with no heap arena.
	arenas map[uint32]*arena
	spans  map[uint64]*span // by mspan address
	// lastIdx and last cache the last arena looked up.
	lastIdx uint32
	last    *arena
	// mem counts the bytes the mark holds (bitmaps, span tables) against
	// the budget.
	mem, budget int64
	// spansRead counts the mspan structs read.
	spansRead int
}

// arena is one 64 MiB heap arena: its heapArena address and span table.
type arena struct {
	addr     uint64
	spanPtrs []uint64 // heapArena.spans: the mspan of each page
	spans    []*span  // resolved spans, by page
}

// span is what the mark keeps of one mspan.
type span struct {
	addr      uint64 // the mspan
	base      uint64
	end       uint64 // base + nelems*elemsize: objects live in [base, end)
	elemsize  uint64
	nelems    uint32
	freeIdx   uint32 // objects below freeIndexForScan are allocated
	spanclass uint8
	inUse     bool
	alloc     []byte   // allocBits (nil when unreadable: every object counts as allocated)
	mark      []uint64 // the mark's bits, one per object
	specials  uint64
	largeType uint64
	npages    uint64
	// hbits are the heap bits at the end of a small-object span (1.22+),
	// read on first use; hbitsErr says they could not be.
	hbits    []byte
	hbitsErr bool
	// hidden marks a span holding a sudog whose words the mark hides.
	hidden bool
	// dirty: marked objects were not queued (the queue was full): they
	// are rescanned later.
	dirty bool
}

func (s *span) noscan() bool     { return s.spanclass&1 != 0 }
func (s *span) sizeclass() uint8 { return s.spanclass >> 1 }

// index returns the object index of p and whether p is inside an object.
func (s *span) index(p uint64) (uint32, bool) {
	if !s.inUse || p < s.base || p >= s.end || s.elemsize == 0 {
		return 0, false
	}
	return uint32((p - s.base) / s.elemsize), true
}

// allocated reports whether object i is allocated (not free), as the
// runtime's isFree: below freeIndexForScan, or its allocBits bit.
func (s *span) allocated(i uint32) bool {
	if i < s.freeIdx || s.alloc == nil {
		return true
	}
	return int(i/8) < len(s.alloc) && s.alloc[i/8]&(1<<(i%8)) != 0
}

func (s *span) marked(i uint32) bool { return s.mark[i/64]&(1<<(i%64)) != 0 }
func (s *span) setMark(i uint32)     { s.mark[i/64] |= 1 << (i % 64) }

func newHeap(L *layout, r *reader, baseOffset uint64, budget int64) *heap {
	return &heap{L: L, r: r, bias: baseOffset, arenas: map[uint32]*arena{}, spans: map[uint64]*span{}, budget: budget}
}

// charge accounts n bytes of the mark's memory; it fails past the budget.
func (h *heap) charge(n int64) error {
	h.mem += n
	if h.budget > 0 && h.mem > h.budget {
		return fmt.Errorf("the mark needs over %d MiB for this heap: %w", h.budget>>20, ErrTooLarge)
	}
	return nil
}

// arenaIndex returns the L2 index of p, or false when p cannot be a heap
// address.
func (h *heap) arenaIndex(p uint64) (uint32, bool) {
	ai := (p - h.bias) / heapArenaBytes
	if ai >= arenaL2Entries {
		return 0, false
	}
	return uint32(ai), true
}

// lookup returns the span holding p when it is known: (nil, true) means p
// is not in a heap span, (nil, false) that resolve must run first.
func (h *heap) lookup(p uint64) (*span, bool) {
	ai, ok := h.arenaIndex(p)
	if !ok {
		return nil, true
	}
	a := h.last
	if a == nil || ai != h.lastIdx {
		var known bool
		if a, known = h.arenas[ai]; !known {
			return nil, false
		}
		if a == nil {
			return nil, true
		}
		h.last, h.lastIdx = a, ai
	}
	page := (p / pageSize) % pagesPerArena
	if s := a.spans[page]; s != nil {
		return s, true
	}
	if a.spanPtrs[page] == 0 {
		return nil, true
	}
	return nil, false
}

// spanOf returns p's span after resolve, or nil when p is not in an in-use
// heap span.
func (h *heap) spanOf(p uint64) *span {
	s, _ := h.lookup(p)
	if s == nil || !s.inUse {
		return nil
	}
	return s
}

// resolve reads the arenas and spans the addresses need, in batches.
func (h *heap) resolve(ptrs []uint64) error {
	var need []uint32
	seen := map[uint32]bool{}
	for _, p := range ptrs {
		ai, ok := h.arenaIndex(p)
		if !ok {
			continue
		}
		if _, known := h.arenas[ai]; !known && !seen[ai] {
			seen[ai] = true
			need = append(need, ai)
		}
	}
	if err := h.readArenas(need); err != nil {
		return err
	}
	var spanAddrs []uint64
	want := map[uint64]bool{}
	for _, p := range ptrs {
		ai, ok := h.arenaIndex(p)
		if !ok {
			continue
		}
		a := h.arenas[ai]
		if a == nil {
			continue
		}
		page := (p / pageSize) % pagesPerArena
		sa := a.spanPtrs[page]
		if sa == 0 || a.spans[page] != nil {
			continue
		}
		if s, ok := h.spans[sa]; ok {
			a.spans[page] = s
			continue
		}
		if !want[sa] {
			want[sa] = true
			spanAddrs = append(spanAddrs, sa)
		}
	}
	if err := h.readSpans(spanAddrs); err != nil {
		return err
	}
	for _, p := range ptrs {
		ai, ok := h.arenaIndex(p)
		if !ok {
			continue
		}
		if a := h.arenas[ai]; a != nil {
			page := (p / pageSize) % pagesPerArena
			if sa := a.spanPtrs[page]; sa != 0 && a.spans[page] == nil {
				a.spans[page] = h.spans[sa]
			}
		}
	}
	return nil
}
