package pclntab

import (
	"encoding/binary"
	"fmt"
)

// FUNCDATA indexes of the stack maps (internal/abi, the same 1.20–1.27).
const (
	FuncDataArgsPointerMaps   = 0
	FuncDataLocalsPointerMaps = 1
	FuncDataStackObjects      = 2
)

// ArgsSizeUnknown is _func.args of a function whose argument size is not
// known statically (reflect.makeFuncStub, reflect.methodValueCall).
const ArgsSizeUnknown = -0x80000000

// stackObjectRecordSize is the size of runtime.stackObjectRecord (1.20–1.27):
// off int32, size int32, ptrdata int32, gcdataoff uint32.
const stackObjectRecordSize = 16

// Bounds on malformed stack maps.
const (
	maxStackMapBits    = 1 << 20 // words in one map (8 MiB of frame)
	maxStackMapEntries = 1 << 16
	maxStackObjects    = 1 << 12
)

// Bitmap is one stack map: bit i set means word i holds a pointer.
type Bitmap struct {
	N    int32  // number of words described
	Bits []byte // ceil(N/8) bytes, a copy
}

// Ptr reports whether word i holds a pointer.
func (b Bitmap) Ptr(i int32) bool {
	return i >= 0 && i < b.N && int(i/8) < len(b.Bits) && b.Bits[i/8]&(1<<(i%8)) != 0
}

// StackMap returns entry idx of the function's FUNCDATA stack map which
// (FuncDataArgsPointerMaps or FuncDataLocalsPointerMaps), the way the
// runtime's stackmapdata does: a runtime.stackmap is {n int32, nbit int32,
// bytedata [n][ceil(nbit/8)]byte} in go:func.*. ok is false when the
// function has no such map; a map with nbit 0 is returned as an empty
// Bitmap.
func (t *Table) StackMap(f Func, which uint8, idx int32, gofunc []byte) (bm Bitmap, ok bool, err error) {
	off, has := t.FuncData(f, which)
	if !has {
		return Bitmap{}, false, nil
	}
	if uint64(off)+8 > uint64(len(gofunc)) {
		return Bitmap{}, false, fmt.Errorf("%s: stack map at gofunc+%#x beyond %d bytes: %w", f.Name, off, len(gofunc), ErrFormat)
	}
	le := binary.LittleEndian
	n := int32(le.Uint32(gofunc[off:]))
	nbit := int32(le.Uint32(gofunc[off+4:]))
	if n <= 0 || n > maxStackMapEntries || nbit < 0 || nbit > maxStackMapBits {
		return Bitmap{}, false, fmt.Errorf("%s: stack map with %d entries of %d bits: %w", f.Name, n, nbit, ErrFormat)
	}
	if nbit == 0 {
		return Bitmap{}, true, nil
	}
	if idx < 0 || idx >= n {
		return Bitmap{}, false, fmt.Errorf("%s: stack map index %d of %d: %w", f.Name, idx, n, ErrFormat)
	}
	size := uint64(nbit+7) / 8
	start := uint64(off) + 8 + uint64(idx)*size
	if start+size > uint64(len(gofunc)) {
		return Bitmap{}, false, fmt.Errorf("%s: stack map entry %d beyond gofunc: %w", f.Name, idx, ErrFormat)
	}
	return Bitmap{N: nbit, Bits: append([]byte(nil), gofunc[start:start+size]...)}, true, nil
}

// StackObject is one runtime.stackObjectRecord: a stack variable whose
// address is taken. Off is relative to the frame's varp when negative, to
// its argp otherwise.
type StackObject struct {
	Off, Size, PtrBytes int32
}

// StackObjects returns the function's FUNCDATA_StackObjects records (nil
// when it has none). PtrBytes is negative in Go ≤ 1.20 records that use a
// GC program; callers that do not decode the layout use Size.
func (t *Table) StackObjects(f Func, gofunc []byte) ([]StackObject, error) {
	off, has := t.FuncData(f, FuncDataStackObjects)
	if !has {
		return nil, nil
	}
	if uint64(off)+8 > uint64(len(gofunc)) {
		return nil, fmt.Errorf("%s: stack objects at gofunc+%#x beyond %d bytes: %w", f.Name, off, len(gofunc), ErrFormat)
	}
	n := binary.LittleEndian.Uint64(gofunc[off:])
	if n > maxStackObjects || uint64(off)+8+n*stackObjectRecordSize > uint64(len(gofunc)) {
		return nil, fmt.Errorf("%s: %d stack objects: %w", f.Name, n, ErrFormat)
	}
	out := make([]StackObject, n)
	le := binary.LittleEndian
	for i := range out {
		r := gofunc[uint64(off)+8+uint64(i)*stackObjectRecordSize:]
		out[i] = StackObject{Off: int32(le.Uint32(r)), Size: int32(le.Uint32(r[4:])), PtrBytes: int32(le.Uint32(r[8:]))}
		if out[i].Size < 0 || out[i].Size > maxStackMapBits*8 {
			return nil, fmt.Errorf("%s: stack object %d of %d bytes: %w", f.Name, i, out[i].Size, ErrFormat)
		}
	}
	return out, nil
}
