package procmem

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Span is one range to read: len(Buf) bytes at Addr.
type Span struct {
	Addr uint64
	Buf  []byte
}

// maxIov bounds the iovecs of one process_vm_readv call (IOV_MAX).
const maxIov = 1024

// ReadV reads several ranges, with one process_vm_readv call per 1024
// ranges. It returns the total bytes read; unless that is the total
// requested, the error says which span stopped short.
func (p *Process) ReadV(spans ...Span) (int, error) {
	return p.readv(spans)
}

func (p *Process) readv(spans []Span) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, fmt.Errorf("reading pid %d: reader closed", p.pid)
	}
	total := 0
	for len(spans) > 0 {
		chunk := spans[:min(len(spans), maxIov)]
		spans = spans[len(chunk):]
		n, err := p.readChunk(chunk)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readChunk reads up to maxIov spans completely or reports the first short one.
func (p *Process) readChunk(spans []Span) (int, error) {
	want := 0
	for _, s := range spans {
		want += len(s.Buf)
	}
	if p.useVM {
		n, err := p.vmRead(spans)
		switch {
		case err == nil && n == want:
			return n, nil
		case errors.Is(err, unix.ENOSYS):
			p.useVM = false // seccomp or an old kernel: use /proc/PID/mem
		case err != nil:
			return 0, p.wrap(fmt.Sprintf("process_vm_readv of %d bytes at %#x", want, spans[0].Addr), err)
		default:
			return n, p.short(spans, n)
		}
	}
	return p.memRead(spans)
}

// vmRead is one process_vm_readv call; the kernel stops at the first remote
// range it cannot read and returns the bytes read so far.
func (p *Process) vmRead(spans []Span) (int, error) {
	local := make([]unix.Iovec, 0, len(spans))
	remote := make([]unix.RemoteIovec, 0, len(spans))
	for _, s := range spans {
		if len(s.Buf) == 0 {
			continue
		}
		local = append(local, unix.Iovec{Base: unsafe.SliceData(s.Buf)})
		local[len(local)-1].SetLen(len(s.Buf))
		remote = append(remote, unix.RemoteIovec{Base: uintptr(s.Addr), Len: len(s.Buf)})
	}
	if len(local) == 0 {
		return 0, nil
	}
	return unix.ProcessVMReadv(p.pid, local, remote, 0)
}

// memRead preads each span from /proc/PID/mem.
func (p *Process) memRead(spans []Span) (int, error) {
	if p.mem == nil {
		if err := p.openMem(); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, s := range spans {
		for off := 0; off < len(s.Buf); {
			addr := s.Addr + uint64(off)
			if addr > 1<<63-1 {
				return total, fmt.Errorf("reading pid %d at %#x: %w", p.pid, addr, ErrFault)
			}
			n, err := p.mem.ReadAt(s.Buf[off:], int64(addr))
			off += n
			total += n
			if err == nil {
				continue
			}
			if errors.Is(err, io.EOF) || n == 0 {
				if p.gone() {
					return total, fmt.Errorf("reading /proc/%d/mem at %#x: %w", p.pid, addr, ErrNoProcess)
				}
			}
			if errors.Is(err, io.EOF) {
				return total, fmt.Errorf("reading /proc/%d/mem at %#x: %w", p.pid, addr, ErrFault)
			}
			return total, p.wrap(fmt.Sprintf("reading /proc/%d/mem at %#x", p.pid, addr), err)
		}
	}
	return total, nil
}

// short describes a partial process_vm_readv: which span stopped after n bytes.
func (p *Process) short(spans []Span, n int) error {
	if p.gone() {
		return fmt.Errorf("process_vm_readv of pid %d: %w", p.pid, ErrNoProcess)
	}
	left := n
	for i, s := range spans {
		if left < len(s.Buf) {
			return fmt.Errorf("process_vm_readv of pid %d: span %d (%d bytes at %#x) stopped after %d bytes: %w",
				p.pid, i, len(s.Buf), s.Addr, left, ErrFault)
		}
		left -= len(s.Buf)
	}
	return fmt.Errorf("process_vm_readv of pid %d: read %d bytes: %w", p.pid, n, ErrFault)
}
