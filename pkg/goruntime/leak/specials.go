package leak

import (
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// scanSpecials scans the specials of every span that has some (the
// heapArena.pageSpecials bitmap), as markrootSpans: a finalizer's object is
// scanned (not marked) and every special record's words are scanned
// conservatively (a finalizer's fn, a cleanup's fn and arg, a weak handle).
func (e *Marker) scanSpecials(m *marker) error {
	L := e.L
	h := m.h
	hdr := make([]byte, 24)
	if err := e.r.read(hdr, e.mheap+L.mheapArenaList); err != nil {
		return fmt.Errorf("reading mheap_.heapArenas: %w", err)
	}
	ptr, n := le64(hdr, 0), le64(hdr, 8)
	if n > arenaL2Entries {
		return fmt.Errorf("%d heap arenas: %w", n, ErrChanged)
	}
	idx := make([]byte, 8*n)
	if err := e.r.read(idx, ptr); err != nil {
		return fmt.Errorf("reading the heap arena list: %w", err)
	}
	// Resolve every arena (one address in each).
	var probe []uint64
	for i := uint64(0); i < n; i++ {
		ai := le64(idx, 8*i) // arenaIdx
		probe = append(probe, ai*heapArenaBytes+h.bias)
	}
	if err := h.resolve(probe); err != nil {
		return err
	}
	var specialPages []uint64
	var reads []procmem.Span
	var bases []uint64
	for _, p := range probe {
		ai, _ := h.arenaIndex(p)
		if a := h.arenas[ai]; a != nil {
			reads = append(reads, procmem.Span{Addr: a.addr + L.haPageSpecials, Buf: make([]byte, pagesPerArena/8)})
			bases = append(bases, p)
		}
	}
	ok, err := e.r.readEach(reads)
	if err != nil {
		return err
	}
	for i, rd := range reads {
		if !ok[i] {
			return fmt.Errorf("reading heapArena.pageSpecials at %#x: %w", rd.Addr, ErrChanged)
		}
		for pg := uint64(0); pg < pagesPerArena; pg++ {
			if rd.Buf[pg/8]&(1<<(pg%8)) != 0 {
				specialPages = append(specialPages, bases[i]+pg*pageSize)
			}
		}
	}
	if err := h.resolve(specialPages); err != nil {
		return err
	}
	var heads []uint64
	var owners []*span
	seen := map[*span]bool{}
	for _, p := range specialPages {
		if s := h.spanOf(p); s != nil && !seen[s] && s.specials != 0 {
			seen[s] = true
			heads = append(heads, s.specials)
			owners = append(owners, s)
		}
	}
	return e.walkSpecials(m, heads, owners)
}

// walkSpecials walks the specials lists one level per batch.
func (e *Marker) walkSpecials(m *marker, cur []uint64, owners []*span) error {
	L := e.L
	for total := 0; len(cur) > 0; {
		total += len(cur)
		if total > maxSpecials {
			return fmt.Errorf("more than %d specials: %w", maxSpecials, ErrChanged)
		}
		reads := make([]procmem.Span, len(cur))
		for i, a := range cur {
			reads[i] = procmem.Span{Addr: a, Buf: make([]byte, specialWindow)}
		}
		ok, err := e.r.readEach(reads)
		if err != nil {
			return err
		}
		var next []uint64
		var nextOwners []*span
		for i, rd := range reads {
			if !ok[i] {
				return fmt.Errorf("reading special at %#x: %w", rd.Addr, ErrChanged)
			}
			b, s := rd.Buf, owners[i]
			kind := int(b[L.spKind])
			if e.L.finalizerKind < 0 || kind == e.L.finalizerKind {
				var off uint64
				if L.spOffsetSize == 2 {
					off = uint64(le16(b, L.spOffset))
				} else {
					off = le64(b, L.spOffset)
				}
				// Everything the object reaches stays alive; the object
				// itself is not marked (it may be finalized).
				if s.elemsize > 0 && !s.noscan() {
					base := s.base + off/s.elemsize*s.elemsize
					if base < s.end {
						m.enqueue(s, base)
					}
				}
			}
			m.scanConservative(b[ptrSize:]) // every word but next
			if nx := le64(b, 0); nx != 0 {
				next = append(next, nx)
				nextOwners = append(nextOwners, s)
			}
		}
		cur, owners = next, nextOwners
	}
	return nil
}
