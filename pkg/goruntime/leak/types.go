package leak

import (
	"github.com/memsight/memsight/pkg/procmem"
)

// Bounds on type data read from the target.
const (
	maxTypePtrBytes = 64 << 20 // a pointer mask over at most 64 MiB
	abiTypeBytes    = 48       // the prefix of abi.Type the mark reads
)

// typeInfo is the pointer layout of one abi.Type, as the heap scan needs
// it: Size_, PtrBytes and the GC mask (one bit per word of PtrBytes).
type typeInfo struct {
	size, ptrBytes uint64
	mask           []byte
	ok             bool // false: unknown, scan the object conservatively
}

// types caches the types found in malloc headers and span.largeType.
type types struct {
	L     *layout
	r     *reader
	minor int
	known map[uint64]*typeInfo
}

func newTypes(L *layout, r *reader) *types {
	return &types{L: L, r: r, minor: L.minor, known: map[uint64]*typeInfo{}}
}

// get returns a resolved type (nil when resolve has not seen it).
func (t *types) get(addr uint64) *typeInfo { return t.known[addr] }

// resolve reads the types at addrs that are not known yet: their headers in
// one batch, the on-demand mask pointers (1.24+) in a second, the masks in
// a third.
func (t *types) resolve(addrs []uint64) error {
	var todo []uint64
	for _, a := range addrs {
		if _, ok := t.known[a]; !ok && a != 0 {
			t.known[a] = &typeInfo{}
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	L := t.L
	hdr := make([]procmem.Span, len(todo))
	for i, a := range todo {
		hdr[i] = procmem.Span{Addr: a, Buf: make([]byte, abiTypeBytes)}
	}
	ok, err := t.r.readEach(hdr)
	if err != nil {
		return err
	}
	maskAt := make([]uint64, len(todo))
	var indirect []procmem.Span
	var indirectIdx []int
	for i, a := range todo {
		if !ok[i] {
			continue
		}
		b := hdr[i].Buf
		ti := t.known[a]
		ti.size, ti.ptrBytes = le64(b, L.tSize), le64(b, L.tPtrBytes)
		if ti.ptrBytes == 0 {
			ti.ok = ti.size > 0
			continue
		}
		if ti.ptrBytes > ti.size || ti.ptrBytes > maxTypePtrBytes || ti.ptrBytes%ptrSize != 0 {
			continue
		}
		gcdata := le64(b, L.tGCData)
		if t.minor >= 24 && b[L.tTFlag]&tflagGCMaskOnDemand != 0 {
			indirect = append(indirect, procmem.Span{Addr: gcdata, Buf: make([]byte, 8)})
			indirectIdx = append(indirectIdx, i)
			continue
		}
		maskAt[i] = gcdata
	}
	iok, err := t.r.readEach(indirect)
	if err != nil {
		return err
	}
	for j, i := range indirectIdx {
		// 0: not built yet; 1: being built: unknown either way.
		if p := le64(indirect[j].Buf, 0); iok[j] && p > 1 {
			maskAt[i] = p
		}
	}
	var masks []procmem.Span
	var maskIdx []int
	for i, a := range todo {
		ti := t.known[a]
		if maskAt[i] == 0 || ti.ptrBytes == 0 {
			continue
		}
		words := ti.ptrBytes / ptrSize
		masks = append(masks, procmem.Span{Addr: maskAt[i], Buf: make([]byte, (words+7)/8)})
		maskIdx = append(maskIdx, i)
	}
	mok, err := t.r.readEach(masks)
	if err != nil {
		return err
	}
	for j, i := range maskIdx {
		if mok[j] {
			ti := t.known[todo[i]]
			ti.mask, ti.ok = masks[j].Buf, true
		}
	}
	return nil
}

// ptrWord reports whether word w (counted from the start of a run of
// elements of this type) holds a pointer: the runtime tiles the mask every
// Size_ bytes.
func (ti *typeInfo) ptrWord(w uint64) bool {
	off := (w * ptrSize) % ti.size
	if off >= ti.ptrBytes {
		return false
	}
	i := off / ptrSize
	return ti.mask[i/8]&(1<<(i%8)) != 0
}
