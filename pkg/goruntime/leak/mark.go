package leak

import (
	"cmp"
	"slices"

	"github.com/memsight/memsight/pkg/procmem"
)

// Bounds of the mark's work list.
const (
	maxQueue      = 1 << 18   // queued object pieces (6 MiB); past it spans are rescanned
	maxObletBytes = 256 << 10 // large objects are scanned in pieces of this size
	// coalesceGap: reads of pieces closer than this are merged into one.
	coalesceGap = 512
)

// item is a piece of a marked object to scan: bytes [base+off, base+off+n).
type item struct {
	s      *span
	base   uint64
	off, n uint32
}

// marker is the state of one mark: the heap's spans with their mark bits, the
// work list and the pointers waiting for their span to be read.
type marker struct {
	L *layout
	r *reader
	h *heap
	t *types
	// queue holds marked objects to scan; dirty the spans whose marked
	// objects did not fit in it.
	queue []item
	dirty []*span
	// found holds candidate pointers whose span is not read yet.
	found []uint64
	// hidden maps a sudog's address to the words the leak detector hides
	// from the mark (setSyncObjectsUntraceable): hideC, hideElem.
	hidden map[uint64]uint8
	st     markStats
	// scratch is reused by every batch (a batch is scanned before the next
	// one is read).
	scratch batchScratch
}

// batchScratch holds the buffers of one batch.
type batchScratch struct {
	buf   []byte
	batch []item
	keys  []pieceKey
	data  [][]byte
	ok    []bool
	reads []procmem.Span
}

// pieceKey is a piece's address and index in its batch.
type pieceKey struct {
	addr uint64
	i    int
}

// grow returns s resized to n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	clear(s[:n])
	return s[:n]
}

// markStats counts the mark's work and what it could not do exactly.
type markStats struct {
	objects, bytes uint64
	// consObjects counts objects scanned conservatively (unknown pointer
	// layout); unreadObjects marked objects that could not be read;
	// unresolved pointers whose span could not be read.
	consObjects, unreadObjects, unresolved uint64
}

func newMarker(L *layout, r *reader, h *heap, t *types) *marker {
	return &marker{L: L, r: r, h: h, t: t, hidden: map[uint64]uint8{}}
}

// markPtr marks the object p points into, if p points into an allocated
// heap object, and queues it for scanning. Pointers into spans not read yet
// wait in found until the next flush.
func (m *marker) markPtr(p uint64) {
	if p < 4096 {
		return
	}
	s, known := m.h.lookup(p)
	if !known {
		m.found = append(m.found, p)
		return
	}
	if s != nil {
		m.markIn(s, p)
	}
}

// markIn marks p's object in s; it reports whether the object was newly
// marked.
func (m *marker) markIn(s *span, p uint64) bool {
	i, ok := s.index(p)
	if !ok || !s.allocated(i) || s.marked(i) {
		return false
	}
	s.setMark(i)
	m.st.objects++
	m.st.bytes += s.elemsize
	if !s.noscan() {
		m.enqueue(s, s.base+uint64(i)*s.elemsize)
	}
	return true
}

// isMarkedOrNotInHeap is the runtime's test of a blocked goroutine's
// primitive: marked, or not a heap object at all (a global, a stack). p's
// span must have been resolved.
func (m *marker) isMarkedOrNotInHeap(p uint64) bool {
	s := m.h.spanOf(p)
	if s == nil {
		return true
	}
	i, ok := s.index(p)
	if !ok {
		return true
	}
	return s.marked(i)
}

// enqueue queues an object's pieces, or marks its span dirty when the queue
// is full.
func (m *marker) enqueue(s *span, base uint64) {
	if len(m.queue) >= maxQueue {
		if !s.dirty {
			s.dirty = true
			m.dirty = append(m.dirty, s)
		}
		return
	}
	for off := uint64(0); off < s.elemsize; off += maxObletBytes {
		m.queue = append(m.queue, item{s: s, base: base, off: uint32(off), n: uint32(min(maxObletBytes, s.elemsize-off))})
	}
}

// flush resolves the spans of the pending pointers and marks them.
func (m *marker) flush() error {
	for len(m.found) > 0 {
		ptrs := m.found
		m.found = nil
		if err := m.h.resolve(ptrs); err != nil {
			return err
		}
		for _, p := range ptrs {
			s, known := m.h.lookup(p)
			if !known {
				m.st.unresolved++
				continue
			}
			if s != nil {
				m.markIn(s, p)
			}
		}
	}
	return nil
}

// drain scans queued objects until nothing is left to mark.
func (m *marker) drain() error {
	for {
		if err := m.flush(); err != nil {
			return err
		}
		if len(m.queue) == 0 && !m.requeueDirty() {
			return nil
		}
		n, size := 0, uint64(0)
		for n < len(m.queue) && size < maxBatchBytes && n < 4096 {
			size += uint64(m.queue[len(m.queue)-1-n].n)
			n++
		}
		batch := grow(m.scratch.batch, n)
		m.scratch.batch = batch
		copy(batch, m.queue[len(m.queue)-n:])
		m.queue = m.queue[:len(m.queue)-n]
		if err := m.scanItems(batch); err != nil {
			return err
		}
	}
}

// requeueDirty queues the marked objects of spans that overflowed the queue
// (scanning an object twice is harmless).
func (m *marker) requeueDirty() bool {
	for len(m.dirty) > 0 && len(m.queue) < maxQueue/2 {
		s := m.dirty[len(m.dirty)-1]
		m.dirty = m.dirty[:len(m.dirty)-1]
		s.dirty = false
		for i := uint32(0); i < s.nelems; i++ {
			if s.marked(i) {
				m.enqueue(s, s.base+uint64(i)*s.elemsize)
			}
		}
	}
	return len(m.queue) > 0
}

// scanItems reads a batch of object pieces (and the heap bits of their spans
// when needed), resolves the types of malloc headers and large objects, and
// scans every piece.
func (m *marker) scanItems(batch []item) error {
	// The pieces (coalesced where they are close), then the heap bits of
	// spans not read yet.
	data, ok, err := m.readPieces(batch)
	if err != nil {
		return err
	}
	var hbSpans []*span
	var reads []procmem.Span
	want := map[*span]bool{}
	for _, it := range batch {
		s := it.s
		if m.usesHeapBits(s) && s.hbits == nil && !s.hbitsErr && !want[s] {
			want[s] = true
			addr, size := m.heapBitsRange(s)
			reads = append(reads, procmem.Span{Addr: addr, Buf: make([]byte, size)})
			hbSpans = append(hbSpans, s)
		}
	}
	hbOK, err := m.r.readEach(reads)
	if err != nil {
		return err
	}
	for j, s := range hbSpans {
		if hbOK[j] {
			s.hbits = reads[j].Buf
			if err := m.h.charge(int64(len(s.hbits))); err != nil {
				return err
			}
		} else {
			s.hbitsErr = true
		}
	}
	var typeAddrs []uint64
	for i, it := range batch {
		if ok[i] {
			if ta := m.typeOf(it, data[i]); ta != 0 {
				typeAddrs = append(typeAddrs, ta)
			}
		}
	}
	if err := m.t.resolve(typeAddrs); err != nil {
		return err
	}
	for i, it := range batch {
		if !ok[i] {
			m.st.unreadObjects++
			continue
		}
		m.scanObject(it, data[i])
	}
	return nil
}

// usesHeapBits reports whether s's objects keep their pointer bits at the
// end of the span (heapBitsInSpan, 1.22+).
func (m *marker) usesHeapBits(s *span) bool {
	return m.L.heapBits && !s.noscan() && s.elemsize <= minSizeForMallocHeader && s.sizeclass() != 0
}

// heapBitsRange is the runtime's spanHeapBitsRange: one bit per word of the
// span, at its end, in front of the Green Tea inline mark bits.
func (m *marker) heapBitsRange(s *span) (uint64, uint64) {
	spanSize := s.npages * pageSize
	size := spanSize / ptrSize / 8
	base := s.base + spanSize - size
	if m.L.inlineMarkBits > 0 && s.elemsize >= 16 {
		base -= m.L.inlineMarkBits
	}
	return base, size
}

// typeOf returns the address of the type describing a piece's object when
// its layout comes from a type: the malloc header (the object's first
// word) or the span's largeType. Before 1.24 (GC programs) those objects
// are scanned conservatively.
func (m *marker) typeOf(it item, data []byte) uint64 {
	s := it.s
	if !m.L.heapBits || m.L.minor < 24 || s.noscan() || m.usesHeapBits(s) {
		return 0
	}
	if s.sizeclass() == 0 {
		return s.largeType
	}
	if it.off == 0 && len(data) >= 8 {
		return le64(data, 0)
	}
	return 0
}

// scanObject marks what a piece of an object points to.
func (m *marker) scanObject(it item, data []byte) {
	s := it.s
	words := uint64(len(data)) / ptrSize
	var hidden uint8
	if s.hidden {
		hidden = m.hidden[it.base]
	}
	visit := func(w uint64) {
		off := uint64(it.off) + w*ptrSize
		if hidden != 0 && m.isHiddenWord(off, hidden) {
			return
		}
		m.markPtr(le64(data, w*ptrSize))
	}
	switch {
	case m.usesHeapBits(s) && s.hbits != nil:
		first := (it.base + uint64(it.off) - s.base) / ptrSize
		for w := uint64(0); w < words; w++ {
			bit := first + w
			if bit/8 < uint64(len(s.hbits)) && s.hbits[bit/8]&(1<<(bit%8)) != 0 {
				visit(w)
			}
		}
		return
	case m.L.heapBits && m.L.minor >= 24 && !m.usesHeapBits(s):
		if ti := m.t.get(m.typeOf(it, data)); ti != nil && ti.ok {
			m.scanTyped(it, data, ti, visit)
			return
		}
	}
	m.st.consObjects++
	for w := uint64(0); w < words; w++ {
		visit(w)
	}
}

// scanTyped scans a piece by its type's mask, tiled every Size_ bytes: from
// the word after the malloc header for small objects, from the base for
// large ones.
func (m *marker) scanTyped(it item, data []byte, ti *typeInfo, visit func(uint64)) {
	words := uint64(len(data)) / ptrSize
	if ti.ptrBytes == 0 {
		return
	}
	start := uint64(0) // byte offset of the first element in the object
	if it.s.sizeclass() != 0 {
		start = ptrSize
	}
	for w := uint64(0); w < words; w++ {
		off := uint64(it.off) + w*ptrSize
		if off < start {
			continue
		}
		if ti.ptrWord((off - start) / ptrSize) {
			visit(w)
		}
	}
}

// Words of a sudog the mark hides.
const (
	hideC    = 1 << iota // the channel of a channel wait
	hideElem             // the primitive of a sync wait
)

// isHiddenWord reports whether offset off of a sudog is a word the leak
// detector hides: c of a channel wait, elem of a sync wait, and the uintptr
// half of either (which the runtime never traces: it matters only when the
// sudog is scanned conservatively).
func (m *marker) isHiddenWord(off uint64, what uint8) bool {
	for i, w := range m.L.sgCWords {
		if off == w && (what&hideC != 0 || i == 1) {
			return true
		}
	}
	for i, w := range m.L.sgElemWords {
		if off == w && (what&hideElem != 0 || i == 1) {
			return true
		}
	}
	return false
}

// scanConservative marks every word of data (read at addr) that points
// into an allocated heap object.
func (m *marker) scanConservative(data []byte) {
	for w := 0; w+8 <= len(data); w += 8 {
		m.markPtr(le64(data, uint64(w)))
	}
}

// readPieces reads the batch's pieces: sorted by address, pieces less than
// coalesceGap apart share one read (objects of a span are usually marked
// together), which the kernel serves far faster than one iovec per object.
// data[i] is batch[i]'s bytes, ok[i] whether they were read.
func (m *marker) readPieces(batch []item) (data [][]byte, ok []bool, err error) {
	sc := &m.scratch
	keys := grow(sc.keys, len(batch))
	sc.keys = keys
	for i, it := range batch {
		keys[i] = pieceKey{it.base + uint64(it.off), i}
	}
	slices.SortFunc(keys, func(a, b pieceKey) int { return cmp.Compare(a.addr, b.addr) })
	// Runs of close pieces: [start, end) and the keys they hold.
	type run struct {
		start, end uint64
		from, to   int // keys[from:to]
	}
	var runs []run
	total := uint64(0)
	for k, kv := range keys {
		a, e := kv.addr, kv.addr+uint64(batch[kv.i].n)
		if r := len(runs) - 1; r >= 0 && a <= runs[r].end+coalesceGap && e-runs[r].start <= maxBatchBytes {
			total += max(e, runs[r].end) - runs[r].end
			runs[r].end = max(runs[r].end, e)
			runs[r].to = k + 1
			continue
		}
		runs = append(runs, run{start: a, end: e, from: k, to: k + 1})
		total += e - a
	}
	buf := grow(sc.buf, int(total))
	sc.buf = buf
	reads := grow(sc.reads, len(runs))
	sc.reads = reads
	for r, run := range runs {
		n := run.end - run.start
		reads[r] = procmem.Span{Addr: run.start, Buf: buf[:n:n]}
		buf = buf[n:]
	}
	rok, err := m.r.readEach(reads)
	if err != nil {
		return nil, nil, err
	}
	data, ok = grow(sc.data, len(batch)), grow(sc.ok, len(batch))
	sc.data, sc.ok = data, ok
	for r, run := range runs {
		if !rok[r] {
			continue // a run straddling an unmapped gap: its pieces are read alone
		}
		for _, kv := range keys[run.from:run.to] {
			off := kv.addr - run.start
			data[kv.i], ok[kv.i] = reads[r].Buf[off:off+uint64(batch[kv.i].n)], true
		}
	}
	addr := func(i int) uint64 { return batch[i].base + uint64(batch[i].off) }
	var retry []procmem.Span
	var retryIdx []int
	for i := range batch {
		if !ok[i] {
			retry = append(retry, procmem.Span{Addr: addr(i), Buf: make([]byte, batch[i].n)})
			retryIdx = append(retryIdx, i)
		}
	}
	if len(retry) > 0 {
		rok, err := m.r.readEach(retry)
		if err != nil {
			return nil, nil, err
		}
		for j, i := range retryIdx {
			data[i], ok[i] = retry[j].Buf, rok[j]
		}
	}
	return data, ok, nil
}
