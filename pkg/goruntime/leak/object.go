package leak

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
