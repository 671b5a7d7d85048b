package goexe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// image is the bytes of one executable.
//
// Open and the Cache map the file read-only (mem). The hot paths (FuncAt,
// SPDelta, Frames) decode .gopclntab straight from the mapping, so only the
// pages they touch become resident, as file-backed pages the kernel can
// drop; nothing of the file is copied into the heap. Whole-table scans
// (symbols, function names, relocations, DWARF) read through r into small
// buffers and touch no mapped page. OpenReader has no mapping: view copies
// from r.
//
// A file truncated after it was mapped raises SIGBUS when a page past its
// new end is touched. Every method that reads the mapping runs with
// debug.SetPanicOnFault and recovers (see guard and recoverTo), so the
// fault becomes an error or a "not found" for that call.
type image struct {
	r    io.ReaderAt
	size int64
	m    *mapping // nil without a mapping
}

// mapping is a read-only mapping of a whole file.
type mapping struct {
	mu  sync.Mutex
	mem []byte
}

// mapFile maps f (size bytes) read-only.
func mapFile(f *os.File, size int64) (*mapping, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("cannot map a file of %d bytes", size)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var p unsafe.Pointer
	var merr error
	if err := rc.Control(func(fd uintptr) {
		p, merr = unix.MmapPtr(int(fd), 0, nil, uintptr(size), unix.PROT_READ, unix.MAP_PRIVATE)
	}); err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, fmt.Errorf("mapping the file: %w", merr)
	}
	return &mapping{mem: unsafe.Slice((*byte)(p), size)}, nil
}

// unmap releases the mapping. A reader racing with it faults, which the
// readers recover from (see guard), or reads whatever the process mapped
// there since: parsing is bounded, so a wrong answer at worst.
func (m *mapping) unmap() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mem != nil {
		_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(m.mem)), uintptr(len(m.mem)))
		m.mem = nil
	}
}

// view returns n bytes at file offset off: a slice of the mapping, or a
// copy read from r (at most limit bytes) without one. A view of the mapping
// must only be read under SetPanicOnFault (see image).
func (im *image) view(off, n, limit uint64) ([]byte, error) {
	if off > uint64(im.size) || n > uint64(im.size)-off {
		return nil, fmt.Errorf("%d bytes at offset %#x are beyond the %d-byte file: %w", n, off, im.size, ErrBadELF)
	}
	if im.m != nil {
		return im.m.mem[off : off+n : off+n], nil
	}
	if n > limit {
		return nil, fmt.Errorf("%d bytes at offset %#x are over the %d-byte limit: %w", n, off, limit, ErrBadELF)
	}
	buf := make([]byte, n)
	if err := im.readAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// readAt fills p from file offset off through r.
func (im *image) readAt(p []byte, off uint64) error {
	if off > uint64(im.size) || uint64(len(p)) > uint64(im.size)-off {
		return fmt.Errorf("%d bytes at offset %#x are beyond the %d-byte file: %w", len(p), off, im.size, ErrBadELF)
	}
	n, err := im.r.ReadAt(p, int64(off))
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at offset %#x: %w", len(p), off, err)
}

// guard turns a panic inside the calling function (a parser bug on hostile
// input, or a fault on the mapped file) into an error wrapping ErrBadELF,
// and restores the goroutine's panic-on-fault setting. Use as
//
//	defer guard(&err, "what", debug.SetPanicOnFault(true))
func guard(err *error, what string, oldFault bool) {
	debug.SetPanicOnFault(oldFault)
	if p := recover(); p != nil {
		*err = fmt.Errorf("%s: %s: %w", what, describePanic(p), ErrBadELF)
	}
}

// recoverTo is guard for methods that report failure with a zero value
// (false, nil): on a panic it zeroes *v. b is kept alive until the method
// returns, so its mapping cannot be released under a running call. Use as
//
//	defer recoverTo(b, &ok, debug.SetPanicOnFault(true))
func recoverTo[T any](b *Binary, v *T, oldFault bool) {
	debug.SetPanicOnFault(oldFault)
	if p := recover(); p != nil {
		var zero T
		*v = zero
	}
	runtime.KeepAlive(b)
}

// describePanic says what a recovered panic was.
func describePanic(p any) string {
	type addresser interface{ Addr() uintptr }
	if e, ok := p.(addresser); ok {
		return fmt.Sprintf("fault reading the executable at %#x (file truncated or changed while open?)", e.Addr())
	}
	return fmt.Sprintf("parser panic (%v)", p)
}
