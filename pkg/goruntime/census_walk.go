package goruntime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/procmem"
)

// walkChunk is how many g's one read covers (one process_vm_readv each for
// the g's and for re-checking their status).
const walkChunk = 512

// gHead is the part of a g a census needs.
type gHead struct {
	addr       uint64
	status     uint32 // without the scan bit
	goid       uint64
	gopc       uint64
	startPC    uint64
	waitReason uint8
	waitSince  int64
}

// dead reports a g kept for reuse, as Goroutine.Dead.
func (h gHead) dead() bool { return h.status == gDead || h.status == 11 }

func (r *Runtime) decodeHead(addr uint64, w gWords) gHead {
	L := r.g
	return gHead{
		addr:       addr,
		status:     w.u32(L.status) &^ gScan,
		goid:       w.u64(L.goid),
		gopc:       w.u64(L.gopc),
		startPC:    w.u64(L.startPC),
		waitReason: w.u8(L.waitReason),
		waitSince:  int64(w.u64(L.waitSince)),
	}
}

// allgSnapshot reads the g pointers of runtime.allgs. allgs is appended to
// under allglock while it is read: the header is read before and after the
// elements, and the read is retried when the slice moved in between (the
// old array may be freed). A slice that only grew in place is fine: its
// first elements do not change.
func (r *Runtime) allgSnapshot(limit int) ([]uint64, error) {
	addr, err := r.addr(r.b.Globals.AllGs, "allgs")
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var h0, h1 [24]byte
	for attempt := 0; attempt <= maxTornRetries; attempt++ {
		if err := procmem.ReadFull(r.mem, h0[:], addr); err != nil {
			return nil, fmt.Errorf("reading runtime.allgs at %#x: %w", addr, err)
		}
		ptr, n, capacity := le.Uint64(h0[:]), le.Uint64(h0[8:]), le.Uint64(h0[16:])
		if n > capacity || ptr == 0 && n > 0 {
			continue // torn header
		}
		if n > uint64(limit) {
			return nil, fmt.Errorf("runtime.allgs holds %d goroutines (dead ones included), over the limit of %d: %w", n, limit, ErrTooManyGoroutines)
		}
		buf := make([]byte, 8*n)
		if n > 0 {
			if err := procmem.ReadFull(r.mem, buf, ptr); err != nil {
				if errors.Is(err, procmem.ErrNoProcess) {
					return nil, fmt.Errorf("reading runtime.allgs elements: %w", err)
				}
				continue // freed after a move
			}
		}
		if err := procmem.ReadFull(r.mem, h1[:], addr); err != nil {
			return nil, fmt.Errorf("reading runtime.allgs at %#x: %w", addr, err)
		}
		if le.Uint64(h1[:]) != ptr {
			continue
		}
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(buf[8*i:])
		}
		return out, nil
	}
	return nil, fmt.Errorf("runtime.allgs kept moving while read (%d attempts)", maxTornRetries+1)
}

// walkBuffers are walkGs's buffers, kept from census to census and sized to
// the process's goroutines (up to a chunk, a quarter of a megabyte): an idle
// process with ten goroutines keeps 5 KiB, not the whole chunk.
type walkBuffers struct {
	mu            sync.Mutex
	size          uint64 // the g size buf was cut for
	buf, status   []byte
	spans, checks []procmem.Span
}

// walkGs reads every g of ptrs in chunks and calls fn for each readable
// one. After a chunk is read, the status words are read again; a g whose
// status changed meanwhile may be torn and is read again on its own.
func (r *Runtime) walkGs(ptrs []uint64, c *model.Census, fn func(gHead)) error {
	size := r.g.size
	w := &r.walk
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := uint64(min(len(ptrs), walkChunk)); w.size != size || uint64(len(w.status)) < 4*n {
		n = max(n, 16)
		w.size = size
		w.buf, w.status = make([]byte, n*size), make([]byte, n*4)
		w.spans, w.checks = make([]procmem.Span, 0, n), make([]procmem.Span, 0, n)
	}
	buf, status, spans, checks := w.buf, w.status, w.spans, w.checks
	for len(ptrs) > 0 {
		chunk := ptrs[:min(len(ptrs), walkChunk)]
		ptrs = ptrs[len(chunk):]
		spans, checks = spans[:0], checks[:0]
		for i, p := range chunk {
			if p == 0 {
				continue
			}
			spans = append(spans, procmem.Span{Addr: p, Buf: buf[uint64(i)*size : uint64(i+1)*size]})
			checks = append(checks, procmem.Span{Addr: p + r.g.status, Buf: status[4*i : 4*i+4]})
		}
		if err := procmem.ReadV(r.mem, spans...); err != nil {
			if errors.Is(err, procmem.ErrNoProcess) {
				return fmt.Errorf("reading g's: %w", err)
			}
			if err := r.walkOneByOne(spans, c, fn); err != nil {
				return err
			}
			continue
		}
		if err := procmem.ReadV(r.mem, checks...); err != nil {
			if errors.Is(err, procmem.ErrNoProcess) {
				return fmt.Errorf("re-reading g statuses: %w", err)
			}
			if err := r.walkOneByOne(spans, c, fn); err != nil {
				return err
			}
			continue
		}
		for i, s := range spans {
			c.Read++
			h := r.decodeHead(s.Addr, gWords(s.Buf))
			if binary.LittleEndian.Uint32(checks[i].Buf)&^gScan != h.status {
				c.Changed++
				var err error
				if h, err = r.readHead(s.Addr, s.Buf); err != nil {
					if errors.Is(err, procmem.ErrNoProcess) {
						return err
					}
					c.Read--
					c.Unreadable++
					continue
				}
			}
			fn(h)
		}
	}
	return nil
}

// walkOneByOne reads the g's of a chunk that could not be read at once.
func (r *Runtime) walkOneByOne(spans []procmem.Span, c *model.Census, fn func(gHead)) error {
	for _, s := range spans {
		h, err := r.readHead(s.Addr, s.Buf)
		if err != nil {
			if errors.Is(err, procmem.ErrNoProcess) {
				return err
			}
			c.Unreadable++
			continue
		}
		c.Read++
		fn(h)
	}
	return nil
}

// readHead reads one g until its status and wait fields read the same
// before and after (or the retries run out: the last read is kept).
func (r *Runtime) readHead(addr uint64, buf []byte) (gHead, error) {
	check := make([]byte, len(buf))
	if err := procmem.ReadFull(r.mem, buf, addr); err != nil {
		return gHead{}, fmt.Errorf("reading g at %#x: %w", addr, err)
	}
	for attempt := 0; attempt < maxTornRetries; attempt++ {
		if err := procmem.ReadFull(r.mem, check, addr); err != nil {
			return gHead{}, fmt.Errorf("re-reading g at %#x: %w", addr, err)
		}
		if r.decodeHead(addr, buf) == r.decodeHead(addr, check) {
			break
		}
		copy(buf, check)
	}
	return r.decodeHead(addr, buf), nil
}
