package pclntab

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Scan calls visit with the index and name of every function, in table
// order, until visit returns false. It reads the function table and the
// names through r, which must hold the same bytes Parse was given, into a
// few small buffers instead of through the Table's slices: when those slices
// are a mapped file, a scan of every name then touches no mapped page (and
// adds nothing to the process's resident memory). name is only valid during
// the call. Scan stops with an error at the first malformed record.
func (t *Table) Scan(r io.ReaderAt, visit func(i int, name []byte) bool) error {
	br := newBlockReader(r, t.pclnOff+int64(len(t.pclntable)))
	var rec [funcHeaderSize]byte
	var ft [12]byte // functab entry i: entryOff, funcOff, next entryOff
	var scratch []byte
	for i := 0; i < t.nfunc; i++ {
		if err := br.read(ft[:], t.pclnOff+int64(i)*8); err != nil {
			return err
		}
		entryOff, funcOff, endOff := le32(ft[0:]), int64(le32(ft[4:])), le32(ft[8:])
		if funcOff+funcHeaderSize > int64(len(t.pclntable)) {
			return fmt.Errorf("function %d record at %#x beyond the table: %w", i, funcOff, ErrFormat)
		}
		if err := br.read(rec[:], t.pclnOff+funcOff); err != nil {
			return err
		}
		f := decodeRecord(rec[:])
		if err := checkRecord(f, i, entryOff, endOff); err != nil {
			return err
		}
		if funcOff+funcHeaderSize+4*(int64(f.npcdata)+int64(f.nfuncdata)) > int64(len(t.pclntable)) {
			return fmt.Errorf("function %d: %d pcdata / %d funcdata beyond the table: %w", i, f.npcdata, f.nfuncdata, ErrFormat)
		}
		if f.nameOff < 0 || int(f.nameOff) >= len(t.funcnametab) {
			return fmt.Errorf("function %d: name offset %#x: %w", i, f.nameOff, ErrFormat)
		}
		var err error
		scratch, err = br.cstring(scratch[:0], t.funcnameOff+int64(f.nameOff), t.funcnameOff+int64(len(t.funcnametab)))
		if err != nil {
			return fmt.Errorf("function %d: name at %#x: %w", i, f.nameOff, err)
		}
		if !visit(i, scratch) {
			return nil
		}
	}
	return nil
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// Block cache sizes: Scan reads the functab, the _func records and the
// names, three mostly sequential streams, with occasional jumps back (a
// name shared by an ABI wrapper and its body is stored once).
const (
	blockSize = 16 << 10
	numBlocks = 8
)

// blockReader reads through a small LRU cache of blocks.
type blockReader struct {
	r    io.ReaderAt
	end  int64 // no reads at or beyond end
	blks [numBlocks]block
	tick uint64
}

type block struct {
	off  int64
	n    int
	used uint64
	data []byte
}

func newBlockReader(r io.ReaderAt, end int64) *blockReader {
	br := &blockReader{r: r, end: end}
	for i := range br.blks {
		br.blks[i].off = -1
	}
	return br
}

// block returns the cached block holding off, reading it when needed.
func (br *blockReader) block(off int64) ([]byte, int64, error) {
	if off < 0 || off >= br.end {
		return nil, 0, fmt.Errorf("read at %#x beyond the table (%#x bytes): %w", off, br.end, ErrFormat)
	}
	start := off - off%blockSize
	br.tick++
	lru := 0
	for i := range br.blks {
		b := &br.blks[i]
		if b.off == start {
			b.used = br.tick
			return b.data[:b.n], start, nil
		}
		if b.used < br.blks[lru].used {
			lru = i
		}
	}
	b := &br.blks[lru]
	if b.data == nil {
		b.data = make([]byte, blockSize)
	}
	n := int(min(blockSize, br.end-start))
	got, err := br.r.ReadAt(b.data[:n], start)
	if got < n {
		b.off = -1
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, fmt.Errorf("reading the table at %#x: %w: %w", start, err, ErrFormat)
	}
	b.off, b.n, b.used = start, n, br.tick
	return b.data[:n], start, nil
}

// read fills p from off.
func (br *blockReader) read(p []byte, off int64) error {
	for len(p) > 0 {
		data, start, err := br.block(off)
		if err != nil {
			return err
		}
		n := copy(p, data[off-start:])
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// maxName bounds one name (generic instantiations can be long).
const maxName = 1 << 20

// cstring appends the NUL-terminated string at off (before end) to dst.
func (br *blockReader) cstring(dst []byte, off, end int64) ([]byte, error) {
	for {
		if off >= end || len(dst) > maxName {
			return nil, fmt.Errorf("unterminated string: %w", ErrFormat)
		}
		data, start, err := br.block(off)
		if err != nil {
			return nil, err
		}
		chunk := data[off-start : min(int64(len(data)), end-start)]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			return append(dst, chunk[:i]...), nil
		}
		dst = append(dst, chunk...)
		off += int64(len(chunk))
	}
}
