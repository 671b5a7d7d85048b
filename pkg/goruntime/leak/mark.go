package leak

import (
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

// markIn marks p's object in s, once.
func (m *marker) markIn(s *span, p uint64) {
	i, ok := s.index(p)
	if !ok || !s.allocated(i) || s.marked(i) {
		return
	}
	s.setMark(i)
	m.st.objects++
	m.st.bytes += s.elemsize
	if !s.noscan() {
		m.enqueue(s, s.base+uint64(i)*s.elemsize)
	}
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

// scanConservative marks every word of data (read at addr) that points
// into an allocated heap object.
func (m *marker) scanConservative(data []byte) {
	for w := 0; w+8 <= len(data); w += 8 {
		m.markPtr(le64(data, uint64(w)))
	}
}
