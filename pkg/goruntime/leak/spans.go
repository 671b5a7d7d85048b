package leak

import (
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// readArenas reads the L2 entries of arena indexes and the span tables of
// the arenas that exist.
func (h *heap) readArenas(idx []uint32) error {
	if len(idx) == 0 {
		return nil
	}
	words := make([]byte, 8*len(idx))
	spans := make([]procmem.Span, len(idx))
	for i, ai := range idx {
		spans[i] = procmem.Span{Addr: h.l2 + uint64(ai)*8, Buf: words[8*i : 8*i+8]}
	}
	ok, err := h.r.readEach(spans)
	if err != nil {
		return err
	}
	var tables []procmem.Span
	var fresh []*arena
	for i, ai := range idx {
		addr := le64(words, uint64(8*i))
		if !ok[i] || addr == 0 {
			h.arenas[ai] = nil
			continue
		}
		if err := h.charge(pagesPerArena * 16); err != nil {
			return err
		}
		a := &arena{addr: addr, spanPtrs: make([]uint64, pagesPerArena), spans: make([]*span, pagesPerArena)}
		h.arenas[ai] = a
		fresh = append(fresh, a)
		tables = append(tables, procmem.Span{Addr: addr + h.L.haSpans, Buf: make([]byte, pagesPerArena*8)})
	}
	for i := 0; i < len(tables); i += 16 { // 16 tables of 64 KiB per read
		end := min(i+16, len(tables))
		ok, err := h.r.readEach(tables[i:end])
		if err != nil {
			return err
		}
		for j := i; j < end; j++ {
			if !ok[j-i] {
				return fmt.Errorf("reading the span table of heap arena %#x: %w", fresh[j].addr, ErrChanged)
			}
			for k := range fresh[j].spanPtrs {
				fresh[j].spanPtrs[k] = le64(tables[j].Buf, uint64(k*8))
			}
		}
	}
	return nil
}

// readSpans reads mspan structs and the allocation bits of in-use ones.
func (h *heap) readSpans(addrs []uint64) error {
	L := h.L
	for len(addrs) > 0 {
		chunk := addrs[:min(len(addrs), 1024)]
		addrs = addrs[len(chunk):]
		buf := make([]byte, int(L.msSize)*len(chunk))
		reads := make([]procmem.Span, len(chunk))
		for i, a := range chunk {
			reads[i] = procmem.Span{Addr: a, Buf: buf[i*int(L.msSize) : (i+1)*int(L.msSize)]}
		}
		ok, err := h.r.readEach(reads)
		if err != nil {
			return err
		}
		var bits []procmem.Span
		var owners []*span
		for i, a := range chunk {
			s := &span{addr: a}
			h.spans[a] = s
			h.spansRead++
			if !ok[i] {
				continue // inUse false: not a heap span as far as the mark knows
			}
			if err := h.decodeSpan(s, reads[i].Buf); err != nil {
				return err
			}
			if s.inUse && s.nelems > 0 {
				if ab := le64(reads[i].Buf, L.msAllocBits); ab != 0 {
					bits = append(bits, procmem.Span{Addr: ab, Buf: make([]byte, (s.nelems+7)/8)})
					owners = append(owners, s)
				}
			}
		}
		ok, err = h.r.readEach(bits)
		if err != nil {
			return err
		}
		for i, s := range owners {
			if ok[i] {
				s.alloc = bits[i].Buf
			}
		}
	}
	return nil
}

// decodeSpan fills s from a copy of its mspan.
func (h *heap) decodeSpan(s *span, b []byte) error {
	L := h.L
	s.inUse = b[L.msState] == mSpanInUse
	if !s.inUse {
		return nil
	}
	s.base = le64(b, L.msStart)
	s.npages = le64(b, L.msNpages)
	s.elemsize = le64(b, L.msElemsize)
	s.nelems = uint32(le16(b, L.msNelems))
	s.freeIdx = uint32(le16(b, L.msFreeIdx))
	s.spanclass = b[L.msSpanclass]
	s.specials = le64(b, L.msSpecials)
	if L.hasLargeType {
		s.largeType = le64(b, L.msLargeType)
	}
	if s.elemsize == 0 || s.npages == 0 || s.npages > 1<<20 || uint64(s.nelems)*s.elemsize > s.npages*pageSize {
		s.inUse = false // torn or not a span: ignore rather than guess
		return nil
	}
	if s.sizeclass() == 0 && s.nelems == 0 {
		s.nelems = 1
	}
	s.end = s.base + uint64(s.nelems)*s.elemsize
	s.mark = make([]uint64, (s.nelems+63)/64)
	return h.charge(int64(len(s.mark))*8 + int64(s.nelems+7)/8 + 160)
}
