package pclntab

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic is the first word of a Go 1.20+ pcHeader (abi.Go120PCLnTabMagic).
// Go 1.18 and 1.19 used 0xfffffff0; their layout is the same but memsight
// supports Go 1.20+ only.
const Magic = 0xfffffff1

// ErrFormat means the bytes are not a well-formed Go 1.20+ pclntab.
var ErrFormat = errors.New("malformed or unsupported pclntab")

// maxFuncs bounds the function count a header may claim.
const maxFuncs = 1 << 24

// Table is a parsed pclntab. It keeps sub-slices of the input; the caller must
// not modify the bytes afterwards. A Table is safe for concurrent use.
type Table struct {
	textStart uint64
	ptrSize   int
	quantum   int
	nfunc     int
	nfiles    int

	funcnametab []byte
	cutab       []byte
	filetab     []byte
	pctab       []byte
	pclntable   []byte // functab followed by the _func records

	// Offsets of funcnametab and pclntable in the bytes Parse was given,
	// for Scan.
	funcnameOff, pclnOff int64
}

// Parse decodes the pcHeader of a Go 1.20+ pclntab. textStart is the link-time
// value of moduledata.text (not necessarily the .text section address: with
// external linking C code may come first). ptrSize is 8 for amd64/arm64;
// quantum is the PC quantum (1 on amd64, 4 on arm64), or 0 to take it from the
// header.
func Parse(data []byte, textStart uint64, ptrSize, quantum int) (*Table, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("header of %d bytes: %w", len(data), ErrFormat)
	}
	le := binary.LittleEndian
	if m := le.Uint32(data); m != Magic {
		return nil, fmt.Errorf("magic %#x (want %#x, Go 1.20+ little-endian): %w", m, uint32(Magic), ErrFormat)
	}
	if data[4] != 0 || data[5] != 0 {
		return nil, fmt.Errorf("header padding %#x %#x: %w", data[4], data[5], ErrFormat)
	}
	minLC, hdrPtr := int(data[6]), int(data[7])
	if hdrPtr != 4 && hdrPtr != 8 {
		return nil, fmt.Errorf("pointer size %d: %w", hdrPtr, ErrFormat)
	}
	if ptrSize != 0 && ptrSize != hdrPtr {
		return nil, fmt.Errorf("pointer size %d in header, %d expected: %w", hdrPtr, ptrSize, ErrFormat)
	}
	if minLC != 1 && minLC != 2 && minLC != 4 {
		return nil, fmt.Errorf("pc quantum %d: %w", minLC, ErrFormat)
	}
	if quantum == 0 {
		quantum = minLC
	} else if quantum != minLC {
		return nil, fmt.Errorf("pc quantum %d in header, %d expected: %w", minLC, quantum, ErrFormat)
	}
	word := func(i int) (uint64, error) {
		off := 8 + i*hdrPtr
		if off+hdrPtr > len(data) {
			return 0, fmt.Errorf("header word %d beyond %d bytes: %w", i, len(data), ErrFormat)
		}
		if hdrPtr == 4 {
			return uint64(le.Uint32(data[off:])), nil
		}
		return le.Uint64(data[off:]), nil
	}
	// Words: nfunc, nfiles, textStart (unused since 1.26), funcnameOffset,
	// cuOffset, filetabOffset, pctabOffset, pclnOffset.
	var w [8]uint64
	for i := range w {
		v, err := word(i)
		if err != nil {
			return nil, err
		}
		w[i] = v
	}
	if w[0] == 0 || w[0] > maxFuncs {
		return nil, fmt.Errorf("function count %d: %w", w[0], ErrFormat)
	}
	if w[1] > maxFuncs {
		return nil, fmt.Errorf("file count %d: %w", w[1], ErrFormat)
	}
	hdrEnd := uint64(8 + 8*hdrPtr)
	offs := [6]uint64{w[3], w[4], w[5], w[6], w[7], uint64(len(data))}
	prev := hdrEnd
	for i, o := range offs {
		if o < prev || o > uint64(len(data)) {
			return nil, fmt.Errorf("table %d at offset %#x out of order or beyond %#x: %w", i, o, len(data), ErrFormat)
		}
		prev = o
	}
	t := &Table{
		textStart:   textStart,
		ptrSize:     hdrPtr,
		quantum:     quantum,
		nfunc:       int(w[0]),
		nfiles:      int(w[1]),
		funcnametab: data[offs[0]:offs[1]],
		cutab:       data[offs[1]:offs[2]],
		filetab:     data[offs[2]:offs[3]],
		pctab:       data[offs[3]:offs[4]],
		pclntable:   data[offs[4]:offs[5]],
		funcnameOff: int64(offs[0]),
		pclnOff:     int64(offs[4]),
	}
	// functab: nfunc {entryoff, funcoff} pairs, then the end entryoff.
	if need := (2*t.nfunc + 1) * 4; need > len(t.pclntable) {
		return nil, fmt.Errorf("functab of %d functions needs %d bytes, have %d: %w", t.nfunc, need, len(t.pclntable), ErrFormat)
	}
	return t, nil
}

// NumFuncs returns the number of functions in the table.
func (t *Table) NumFuncs() int { return t.nfunc }

// TextStart returns the text start the table was parsed with.
func (t *Table) TextStart() uint64 { return t.textStart }

// Quantum returns the PC quantum (minimum instruction size).
func (t *Table) Quantum() int { return t.quantum }

// TextEnd returns the end of the last function (moduledata.etext, usually).
func (t *Table) TextEnd() uint64 { return t.textStart + uint64(t.u32(t.pclntable, 2*t.nfunc*4)) }

// u32 reads a little-endian uint32 at off in b, or 0 when out of bounds.
func (t *Table) u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) || off+4 < off {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

// cstring returns the NUL-terminated string at off in b.
func cstring(b []byte, off int) (string, bool) {
	if off < 0 || off >= len(b) {
		return "", false
	}
	for i := off; i < len(b); i++ {
		if b[i] == 0 {
			return string(b[off:i]), true
		}
	}
	return "", false
}
