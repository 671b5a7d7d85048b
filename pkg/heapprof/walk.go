package heapprof

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// counts is one memRecordCycle.
type counts struct {
	allocs, frees, allocBytes, freeBytes uint64
}

func (c counts) add(o counts) counts {
	return counts{c.allocs + o.allocs, c.frees + o.frees, c.allocBytes + o.allocBytes, c.freeBytes + o.freeBytes}
}

// rawBucket is a bucket as read, before the cycle is applied.
type rawBucket struct {
	addr   uint64
	size   uint64
	stk    []uint64
	active counts
	future [futureCycles]counts
}

// walker reads the bucket list.
type walker struct {
	mem procmem.Reader
	lay recLayout
	max int
}

// walk follows allnext from head. The runtime only ever prepends buckets
// (under profInsertLock, after filling them) and never changes or frees
// one, so the list read from a head is stable; only the counts move. Each
// bucket is read with two reads: the header, then the stack and the
// memRecord.
func (w *walker) walk(head uint64) (out []rawBucket, truncated bool, err error) {
	le := binary.LittleEndian
	hdr := make([]byte, w.lay.header)
	seen := map[uint64]struct{}{}
	for p := head; p != 0; p = le.Uint64(hdr[w.lay.allnext:]) {
		if len(out) >= w.max {
			return out, true, nil
		}
		if p%8 != 0 {
			return nil, false, fmt.Errorf("heap profile bucket %d at %#x is misaligned: %w", len(out), p, ErrCorrupt)
		}
		if _, dup := seen[p]; dup {
			return nil, false, fmt.Errorf("heap profile bucket list loops back to %#x after %d buckets: %w", p, len(out), ErrCorrupt)
		}
		seen[p] = struct{}{}
		if err := procmem.ReadFull(w.mem, hdr, p); err != nil {
			return nil, false, fmt.Errorf("reading heap profile bucket %d at %#x: %w", len(out), p, err)
		}
		if typ := le.Uint64(hdr[w.lay.typ:]); typ != memProfile {
			return nil, false, fmt.Errorf("heap profile bucket %d at %#x has type %d, want %d (memProfile): %w", len(out), p, int64(typ), memProfile, ErrCorrupt)
		}
		nstk := le.Uint64(hdr[w.lay.nstk:])
		if nstk > w.lay.maxStack {
			return nil, false, fmt.Errorf("heap profile bucket %d at %#x has %d stack words, at most %d possible: %w", len(out), p, nstk, w.lay.maxStack, ErrCorrupt)
		}
		body := make([]byte, nstk*8+w.lay.record)
		if err := procmem.ReadFull(w.mem, body, p+w.lay.header); err != nil {
			return nil, false, fmt.Errorf("reading stack and record of heap profile bucket %d at %#x: %w", len(out), p, err)
		}
		b := rawBucket{addr: p, size: le.Uint64(hdr[w.lay.size:]), stk: make([]uint64, nstk)}
		for i := range b.stk {
			b.stk[i] = le.Uint64(body[i*8:])
		}
		rec := body[nstk*8:]
		b.active = w.counts(rec[w.lay.active:])
		for i := range b.future {
			b.future[i] = w.counts(rec[w.lay.future+uint64(i)*w.lay.cycle:])
		}
		out = append(out, b)
	}
	return out, false, nil
}

// counts decodes one memRecordCycle.
func (w *walker) counts(c []byte) counts {
	le := binary.LittleEndian
	r := counts{allocs: le.Uint64(c[w.lay.allocs:]), frees: le.Uint64(c[w.lay.frees:])}
	if w.lay.hasBytes {
		r.allocBytes, r.freeBytes = le.Uint64(c[w.lay.allocBytes:]), le.Uint64(c[w.lay.freeBytes:])
	}
	return r
}

// publish computes what runtime.MemProfile reports for the published
// cycle: it flushes future[cycle%3] into active first (a no-op once
// mProf_Flush ran), and when no bucket has any count yet (no GC cycle
// completed) it adds every future cycle. Without bytes in memRecordCycle
// (1.27+) the bytes are the counts times the object size.
func publish(raw []rawBucket, cycle uint32, withBytes bool) []Record {
	idx := cycle % futureCycles
	sums := make([]counts, len(raw))
	empty := true
	for i, b := range raw {
		sums[i] = b.active.add(b.future[idx])
		if sums[i].allocs != 0 || sums[i].frees != 0 {
			empty = false
		}
	}
	if empty {
		for i, b := range raw {
			sums[i] = b.active
			for _, f := range b.future {
				sums[i] = sums[i].add(f)
			}
		}
	}
	out := make([]Record, len(raw))
	for i, b := range raw {
		c := sums[i]
		if !withBytes {
			c.allocBytes, c.freeBytes = c.allocs*b.size, c.frees*b.size
		}
		out[i] = Record{
			Addr: b.addr, ObjectSize: int64(b.size), Stack: b.stk,
			AllocObjects: int64(c.allocs), FreeObjects: int64(c.frees),
			AllocBytes: int64(c.allocBytes), FreeBytes: int64(c.freeBytes),
		}
	}
	return out
}
