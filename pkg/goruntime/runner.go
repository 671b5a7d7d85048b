package goruntime

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
)

// The runtime's runner goroutines (the finalizer goroutine, the cleanup
// goroutines) run each finalizer or cleanup with one call from one loop.
// While that call runs, the runner's frame holds what identifies it: the
// outgoing arguments of reflectcall (the finalizer's funcval and argument
// registers) and the loop's block pointer (a finBlock or cleanupBlock,
// allocated outside the Go heap, so no stack map lists it). The frame is
// found without unwinding: a goroutine's first function is entered with SP
// = g.stktopsp minus the return address goexit+1 (amd64; on arm64 it is in
// LR), copystack keeps that distance to stack.hi, and the runner's SP at the
// call is that minus the call site's SP delta. This works while the call runs
// on a CPU too, when the saved registers are stale.

// runnerFrameSP returns the runtime address of the runner's SP while it is
// inside the call at the link-time address callPC.
func (r *Runtime) runnerFrameSP(g *Goroutine, callPC uint64) (sp uint64, delta int64, err error) {
	if !r.g.hasTopSP || g.TopSP == 0 {
		return 0, 0, fmt.Errorf("runtime.g.stktopsp unknown: %w", ErrUnknown)
	}
	delta, ok := r.b.SPDelta(callPC)
	if !ok {
		return 0, 0, fmt.Errorf("no SP delta at the runner's call %#x", callPC)
	}
	entry := g.TopSP
	if r.b.Arch == goexe.AMD64 {
		entry -= 8 // the pushed return address
	}
	sp = entry - uint64(delta)
	if g.TopSP > g.StackHi || sp < g.StackLo || sp >= g.StackHi || uint64(delta) > g.StackHi-g.StackLo {
		return 0, 0, fmt.Errorf("runner frame %#x (stktopsp %#x - %d) outside the stack [%#x, %#x)",
			sp, g.TopSP, delta, g.StackLo, g.StackHi)
	}
	return sp, delta, nil
}

// FinalizerCall identifies the finalizer call in progress on the finalizer
// goroutine: two reads that return the same FinalizerCall (with the same
// finexecuted on Go 1.25+) saw the same call, since one object is finalized
// once per queueing and a block is never requeued while it runs.
type FinalizerCall struct {
	// Fn is the finalizer's *funcval and PC its code (runtime addresses).
	Fn, PC uint64
	// Args are the first two integer argument registers the call was set up
	// with: the object for a func(*T) finalizer, type and data for an
	// interface one.
	Args [2]uint64
	// Block is the finBlock being run and Remaining its cnt: the finalizers
	// of the block not yet finished, this one included. Block is 0 when the
	// runner's frame held no block that could be validated.
	Block     uint64
	Remaining uint32
	// Chain is the number of finalizers in the blocks the runner has taken
	// and not finished (the running block and those after it), -1 unknown.
	Chain int64
}

// finalizerCall reads the call in progress from the finalizer goroutine's
// runner frame. It does not check that a finalizer is running: callers read
// fingStatus first.
func (r *Runtime) finalizerCall(g *Goroutine) (*FinalizerCall, error) {
	cs := r.b.Probes.FinalizerCall
	if cs == nil {
		return nil, fmt.Errorf("finalizer call site not located: %w", ErrUnknown)
	}
	sp, delta, err := r.runnerFrameSP(g, cs.Call.Addr)
	if err != nil {
		return nil, err
	}
	// reflectcall is called with the ABI0 stack convention: fn is its second
	// argument word and &regs its sixth (amd64: from SP; arm64: above the
	// saved LR at RSP).
	args := sp
	if r.b.Arch == goexe.ARM64 {
		args += 8
	}
	frame := make([]byte, delta)
	if err := procmem.ReadFull(r.mem, frame, sp); err != nil {
		return nil, fmt.Errorf("reading the finalizer runner's frame: %w", err)
	}
	le := binary.LittleEndian
	word := func(addr uint64) uint64 { return le.Uint64(frame[addr-sp:]) }
	if args+48 > sp+uint64(delta) {
		return nil, fmt.Errorf("finalizer runner frame of %d bytes has no reflectcall arguments", delta)
	}
	c := &FinalizerCall{Fn: word(args + 8), Chain: -1}
	regs := word(args + 40)
	if c.Fn == 0 {
		return nil, fmt.Errorf("no finalizer funcval in the runner's frame")
	}
	var fv, ints [8]byte
	var ints2 [8]byte
	spans := []procmem.Span{{Addr: c.Fn, Buf: fv[:]}}
	if regs >= sp && regs+16 <= g.StackHi {
		spans = append(spans, procmem.Span{Addr: regs, Buf: ints[:]}, procmem.Span{Addr: regs + 8, Buf: ints2[:]})
	}
	if err := procmem.ReadV(r.mem, spans...); err != nil {
		return nil, fmt.Errorf("reading the running finalizer's funcval: %w", err)
	}
	c.PC = le.Uint64(fv[:])
	c.Args = [2]uint64{le.Uint64(ints[:]), le.Uint64(ints2[:])}
	r.findFinBlock(c, frame, sp)
	return c, nil
}

// finBlockGeometry returns the finBlock layout: cnt offset, fin offset,
// entry size and capacity.
func (r *Runtime) finBlockGeometry() (cnt, fin, next, esize, capacity uint64, err error) {
	size, ok := r.l.Size("runtime.finBlock")
	es, ok2 := r.l.Size("runtime.finalizer")
	if !ok || !ok2 || es <= 0 || size <= 0 || size > 1<<16 {
		return 0, 0, 0, 0, 0, fmt.Errorf("finBlock layout unknown: %w", ErrUnknown)
	}
	if cnt, err = r.off("runtime.finBlock.cnt"); err != nil {
		return
	}
	if fin, err = r.off("runtime.finBlock.fin"); err != nil {
		return
	}
	if next, err = r.off("runtime.finBlock.next"); err != nil {
		return
	}
	if fin >= uint64(size) {
		return 0, 0, 0, 0, 0, fmt.Errorf("finBlock.fin at %d beyond its size %d: %w", fin, size, ErrUnknown)
	}
	return cnt, fin, next, uint64(es), (uint64(size) - fin) / uint64(es), nil
}

// findFinBlock looks among the runner frame's words for the block being
// run: a finBlock whose last pending entry (index cnt-1) is the running
// finalizer's funcval, whose earlier entries are all pending and whose
// later ones are all cleared. When found it fills Block, Remaining and
// Chain.
func (r *Runtime) findFinBlock(c *FinalizerCall, frame []byte, sp uint64) {
	cntOff, finOff, nextOff, es, capacity, err := r.finBlockGeometry()
	if err != nil {
		return
	}
	fnOff, err := r.off("runtime.finalizer.fn")
	if err != nil {
		return
	}
	size := finOff + es*capacity
	buf := make([]byte, size)
	le := binary.LittleEndian
	for _, i := range slotOrder(r.finSlot, len(frame)) {
		p := le.Uint64(frame[i:])
		if p == 0 || p%8 != 0 || (p >= sp && p < sp+uint64(len(frame))) {
			continue
		}
		if procmem.ReadFull(r.mem, buf, p) != nil {
			continue
		}
		cnt := uint64(le.Uint32(buf[cntOff:]))
		if cnt == 0 || cnt > capacity {
			continue
		}
		fn := func(k uint64) uint64 { return le.Uint64(buf[finOff+k*es+fnOff:]) }
		if fn(cnt-1) != c.Fn {
			continue
		}
		ok := true
		for k := uint64(0); k < capacity && ok; k++ {
			ok = (k < cnt) == (fn(k) != 0)
		}
		if !ok {
			continue
		}
		c.Block, c.Remaining, r.finSlot = p, uint32(cnt), i+1
		c.Chain = r.finChain(le.Uint64(buf[nextOff:]), cntOff, nextOff, capacity, int64(cnt))
		return
	}
}

// maxFinBlocks bounds the finBlock lists walked for a queue length (10,000
// blocks: about a million queued finalizers).
const maxFinBlocks = 10_000

// finChain adds the cnt of every block from next on to sum; -1 when a block
// is unreadable or malformed, or the list is longer than maxFinBlocks.
func (r *Runtime) finChain(next, cntOff, nextOff, capacity uint64, sum int64) int64 {
	var hdr [24]byte
	if cntOff+4 > uint64(len(hdr)) || nextOff+8 > uint64(len(hdr)) {
		return -1
	}
	le := binary.LittleEndian
	for n := 0; next != 0; n++ {
		if n == maxFinBlocks || procmem.ReadFull(r.mem, hdr[:], next) != nil {
			return -1
		}
		cnt := uint64(le.Uint32(hdr[cntOff:]))
		if cnt > capacity {
			return -1
		}
		sum += int64(cnt)
		next = le.Uint64(hdr[nextOff:])
	}
	return sum
}

// slotOrder lists the 8-byte slots of a frame of n bytes, the one that held
// the block last time (cached, offset+1) first.
func slotOrder(cached, n int) []int {
	out := make([]int, 0, n/8+1)
	if cached > 0 && cached-1+8 <= n {
		out = append(out, cached-1)
	}
	for i := 0; i+8 <= n; i += 8 {
		if i != cached-1 {
			out = append(out, i)
		}
	}
	return out
}
