package procmem

import (
	"encoding/binary"
	"fmt"
)

// ReadFull reads exactly len(buf) bytes at addr or fails.
func ReadFull(r Reader, buf []byte, addr uint64) error {
	n, err := r.ReadMemory(buf, addr)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return fmt.Errorf("reading %d bytes at %#x: got %d: %w", len(buf), addr, n, ErrFault)
	}
	return nil
}

// ReadU64 reads a little-endian uint64 at addr (amd64 and arm64 are
// little-endian).
func ReadU64(r Reader, addr uint64) (uint64, error) {
	var b [8]byte
	if err := ReadFull(r, b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// ReadU32 reads a little-endian uint32 at addr.
func ReadU32(r Reader, addr uint64) (uint32, error) {
	var b [4]byte
	if err := ReadFull(r, b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// ReadU8 reads one byte at addr.
func ReadU8(r Reader, addr uint64) (uint8, error) {
	var b [1]byte
	if err := ReadFull(r, b[:], addr); err != nil {
		return 0, err
	}
	return b[0], nil
}

// ReadV reads several spans through any Reader: in one system call for a
// *Process (or a Budget on one), one ReadMemory per span otherwise.
func ReadV(r Reader, spans ...Span) error {
	if p, ok := r.(vectorReader); ok {
		want := 0
		for _, s := range spans {
			want += len(s.Buf)
		}
		n, err := p.ReadV(spans...)
		if err == nil && n != want {
			err = fmt.Errorf("read %d of %d bytes: %w", n, want, ErrFault)
		}
		return err
	}
	for _, s := range spans {
		if err := ReadFull(r, s.Buf, s.Addr); err != nil {
			return err
		}
	}
	return nil
}
