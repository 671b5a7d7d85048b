package leak

import (
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// Bounds on the runtime lists walked for roots.
const (
	maxModules    = 64
	maxFinBlocks  = 1 << 16
	maxSpecials   = 1 << 22
	specialWindow = 64 // bytes of a special record scanned (the largest kind is 56)
	rootChunk     = 1 << 20
)

// scanGlobals scans the data and bss segments of every module through the
// pointer masks the runtime built from gcdata/gcbss (moduledata.gcdatamask,
// gcbssmask): exactly the words the runtime's markrootBlock scans.
func (e *Marker) scanGlobals(m *marker) error {
	L := e.L
	md := e.moduledata
	for n := 0; md != 0; n++ {
		if n >= maxModules {
			return fmt.Errorf("more than %d modules: %w", maxModules, ErrChanged)
		}
		b := make([]byte, L.mdSize)
		if err := e.r.read(b, md); err != nil {
			return fmt.Errorf("reading moduledata at %#x: %w", md, err)
		}
		for _, seg := range []struct{ start, end, maskN, mask uint64 }{
			{le64(b, L.mdData), le64(b, L.mdEdata), uint64(le32(b, L.mdDataMaskN)), le64(b, L.mdDataMask)},
			{le64(b, L.mdBss), le64(b, L.mdEbss), uint64(le32(b, L.mdBssMaskN)), le64(b, L.mdBssMask)},
		} {
			if err := e.scanSegment(m, seg.start, seg.end, seg.maskN, seg.mask); err != nil {
				return err
			}
		}
		md = le64(b, L.mdNext)
	}
	return nil
}

// scanSegment scans [start, end) with a mask of maskN bits at mask.
func (e *Marker) scanSegment(m *marker, start, end, maskN, mask uint64) error {
	if end <= start {
		return nil
	}
	words := (end - start) / ptrSize
	if end-start > 1<<32 || maskN > 1<<32 {
		return fmt.Errorf("data segment [%#x, %#x) with a %d-bit mask: %w", start, end, maskN, ErrChanged)
	}
	if err := m.h.charge(int64(maskN+7) / 8); err != nil {
		return err
	}
	bits := make([]byte, (maskN+7)/8)
	if len(bits) > 0 {
		if err := e.r.read(bits, mask); err != nil {
			return fmt.Errorf("reading the pointer mask of [%#x, %#x): %w", start, end, err)
		}
	}
	words = min(words, maskN)
	buf := make([]byte, rootChunk)
	for w := uint64(0); w < words; w += rootChunk / ptrSize {
		n := min(words-w, rootChunk/ptrSize)
		if !anyBit(bits, w, n) {
			continue
		}
		chunk := buf[:n*ptrSize]
		if err := e.r.read(chunk, start+w*ptrSize); err != nil {
			return fmt.Errorf("reading globals at %#x: %w", start+w*ptrSize, err)
		}
		for i := uint64(0); i < n; i++ {
			if bit := w + i; bits[bit/8]&(1<<(bit%8)) != 0 {
				m.markPtr(le64(chunk, i*ptrSize))
			}
		}
	}
	return nil
}

// anyBit reports whether bits [from, from+n) has a set bit.
func anyBit(bits []byte, from, n uint64) bool {
	for b := from / 8; b <= (from+n-1)/8 && b < uint64(len(bits)); b++ {
		if bits[b] != 0 {
			return true
		}
	}
	return false
}

// scanFinalizerBlocks scans every finalizer block (runtime.allfin, linked by
// alllink): the queued finalizers' functions and objects, as markroot's
// fixedRootFinalizers.
func (e *Marker) scanFinalizerBlocks(m *marker) error {
	L := e.L
	fb, err := e.r.u64(e.allfin)
	if err != nil {
		return fmt.Errorf("reading runtime.allfin: %w", err)
	}
	buf := make([]byte, L.fbSize)
	for n := 0; fb != 0; n++ {
		if n >= maxFinBlocks {
			return fmt.Errorf("more than %d finalizer blocks: %w", maxFinBlocks, ErrChanged)
		}
		if err := e.r.read(buf, fb); err != nil {
			return fmt.Errorf("reading finalizer block %#x: %w", fb, err)
		}
		cnt := uint64(le32(buf, L.fbCnt))
		end := min(L.fbFin+cnt*L.finSize, uint64(len(buf)))
		m.scanConservative(buf[L.fbFin:end])
		fb = le64(buf, L.fbAlllink)
	}
	return nil
}

// scanCleanupBlocks scans the cleanup blocks (gcCleanups.all, Go 1.25+), as
// markroot's fixedRootCleanups.
func (e *Marker) scanCleanupBlocks(m *marker) error {
	L := e.L
	if !L.hasCleanups {
		return nil
	}
	cb, err := e.r.u64(e.gcCleanups + L.cqAll)
	if err != nil {
		return fmt.Errorf("reading runtime.gcCleanups.all: %w", err)
	}
	buf := make([]byte, L.cbSize)
	for n := 0; cb != 0; n++ {
		if n >= maxFinBlocks {
			return fmt.Errorf("more than %d cleanup blocks: %w", maxFinBlocks, ErrChanged)
		}
		if err := e.r.read(buf, cb); err != nil {
			return fmt.Errorf("reading cleanup block %#x: %w", cb, err)
		}
		cnt := uint64(le32(buf, L.cbN))
		end := min(L.cbCleanups+cnt*L.cleanupEntry, uint64(len(buf)))
		m.scanConservative(buf[L.cbCleanups:end])
		cb = le64(buf, L.cbAlllink)
	}
	return nil
}

// scanTinyBlocks marks every P's active tiny allocation block, as the
// runtime's gcMarkTinyAllocs does when a cycle starts: objects allocated
// into it later share it.
func (e *Marker) scanTinyBlocks(m *marker) error {
	hdr := make([]byte, 16)
	if err := e.r.read(hdr, e.allp); err != nil {
		return fmt.Errorf("reading runtime.allp: %w", err)
	}
	ptr, n := le64(hdr, 0), le64(hdr, 8)
	if n > 1<<16 {
		return fmt.Errorf("runtime.allp has %d entries: %w", n, ErrChanged)
	}
	ps := make([]byte, 8*n)
	if err := e.r.read(ps, ptr); err != nil {
		return fmt.Errorf("reading runtime.allp entries: %w", err)
	}
	var caches []procmem.Span
	for i := uint64(0); i < n; i++ {
		if p := le64(ps, 8*i); p != 0 {
			caches = append(caches, procmem.Span{Addr: p + e.L.pMcache, Buf: make([]byte, 8)})
		}
	}
	ok, err := e.r.readEach(caches)
	if err != nil {
		return err
	}
	var tiny []procmem.Span
	for i, c := range caches {
		if mc := le64(c.Buf, 0); ok[i] && mc != 0 {
			tiny = append(tiny, procmem.Span{Addr: mc + e.L.mcTiny, Buf: make([]byte, 8)})
		}
	}
	if ok, err = e.r.readEach(tiny); err != nil {
		return err
	}
	for i, t := range tiny {
		if !ok[i] {
			return fmt.Errorf("reading mcache.tiny at %#x: %w", t.Addr, ErrChanged)
		}
		m.markPtr(le64(t.Buf, 0))
	}
	return nil
}
