package dwarfstruct

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrFormat means the bytes are not well-formed DWARF (or exceed a limit).
var ErrFormat = errors.New("malformed or unsupported DWARF")

// reader decodes little-endian DWARF values from a byte slice. The first
// out-of-bounds read sets err; later reads return zero.
type reader struct {
	data []byte
	pos  int
	err  error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("read beyond %d bytes at %#x: %w", len(r.data), r.pos, ErrFormat)
	}
}

// bytes returns the next n bytes.
func (r *reader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.data)-r.pos) {
		r.fail()
		return nil
	}
	b := r.data[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *reader) u8() uint8 {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// uint reads an n-byte (1..8) little-endian value.
func (r *reader) uint(n int) uint64 {
	b := r.bytes(uint64(n))
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func (r *reader) uleb() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		b := r.bytes(1)
		if b == nil {
			return 0
		}
		if shift < 64 {
			v |= uint64(b[0]&0x7f) << shift
		}
		if b[0]&0x80 == 0 {
			return v
		}
		if shift > 70 {
			r.err = fmt.Errorf("LEB128 over 10 bytes at %#x: %w", r.pos, ErrFormat)
			return 0
		}
	}
}

func (r *reader) sleb() int64 {
	var v int64
	var shift uint
	for {
		b := r.bytes(1)
		if b == nil {
			return 0
		}
		if shift < 64 {
			v |= int64(b[0]&0x7f) << shift
		}
		shift += 7
		if b[0]&0x80 == 0 {
			if shift < 64 && b[0]&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
		if shift > 70 {
			r.err = fmt.Errorf("LEB128 over 10 bytes at %#x: %w", r.pos, ErrFormat)
			return 0
		}
	}
}

// cstring reads a NUL-terminated string.
func (r *reader) cstring() []byte {
	if r.err != nil {
		return nil
	}
	i := bytes.IndexByte(r.data[r.pos:], 0)
	if i < 0 {
		r.fail()
		return nil
	}
	s := r.data[r.pos : r.pos+i]
	r.pos += i + 1
	return s
}
