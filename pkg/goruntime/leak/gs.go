package leak

import (
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// Goroutine status values (runtime2.go, 1.20–1.27; leaked and deadextra are
// 1.26+).
const (
	gIdle      = 0
	gRunning   = 2
	gSyscall   = 3
	gWaiting   = 4
	gDead      = 6
	gCopystack = 8
	gLeaked    = 10
	gDeadExtra = 11
	gScanBit   = 0x1000
)

// Bounds on what one mark reads of the goroutines.
const (
	maxGoroutines = 1 << 20
	maxSudogs     = 4096 // sudogs of one goroutine (a select's cases)
)

// waitClass is how the leak detector treats a goroutine's wait.
type waitClass uint8

const (
	// waitRoot: not blocked on a concurrency primitive (running, runnable,
	// in a system call, or waiting for the runtime, I/O, a timer...): its
	// stack is a root.
	waitRoot waitClass = iota
	// waitNever: select with no cases, or a nil channel: never runnable.
	waitNever
	// waitChan: channel receive/send or select: runnable once one of its
	// channels is reachable.
	waitChan
	// waitSync: sync.Mutex/RWMutex/Cond/WaitGroup: runnable once its
	// primitive is reachable.
	waitSync
)

// waitClasses maps the wait reasons the runtime's leak detector considers
// (isMaybeRunnable, internalBlocked) to their class; any other reason is a
// root. By name, as the numbering changes between versions.
var waitClasses = map[string]waitClass{
	"select (no cases)":       waitNever,
	"chan receive (nil chan)": waitNever,
	"chan send (nil chan)":    waitNever,
	"select":                  waitChan,
	"chan receive":            waitChan,
	"chan send":               waitChan,
	"sync.Cond.Wait":          waitSync,
	"sync.Mutex.Lock":         waitSync,
	"sync.RWMutex.RLock":      waitSync,
	"sync.RWMutex.Lock":       waitSync,
	"sync.WaitGroup.Wait":     waitSync,
}

// gState is one goroutine as a mark reads it.
type gState struct {
	addr          uint64
	goid          uint64
	status        uint32 // without the scan bit
	reason        string // wait reason name while waiting ("" otherwise)
	reasonCode    uint8
	waitSince     int64
	stackLo       uint64
	stackHi       uint64
	schedSP       uint64
	schedPC       uint64
	schedLR       uint64
	ctxt          uint64
	syscallSP     uint64
	syscallPC     uint64
	waiting       uint64 // first sudog
	gopc, startPC uint64
	xRegs         uint64
	class         waitClass
	// sudogs are the goroutine's g.waiting list: each sudog's address,
	// channel (c) and element (elem).
	sudogs []sudog
	// root: its stack is (to be) scanned.
	root bool
}

type sudog struct{ addr, c, elem uint64 }

// key identifies a goroutine's wait: the same key in two reads means it did
// not wake up in between (a new wait would have new sudogs or a new
// waitsince).
type waitKey struct {
	addr, goid, waiting uint64
	reason              uint8
	status              uint32
	firstC, firstElem   uint64
}

func (g *gState) key() waitKey {
	k := waitKey{addr: g.addr, goid: g.goid, waiting: g.waiting, reason: g.reasonCode, status: g.status}
	if len(g.sudogs) > 0 {
		k.firstC, k.firstElem = g.sudogs[0].c, g.sudogs[0].elem
	}
	return k
}

// blocked reports a goroutine the leak detector could report: waiting on a
// concurrency primitive.
func (g *gState) blocked() bool { return g.class != waitRoot }

// readGoroutines reads every g of allgs in one batch, then the sudog lists of
// the blocked ones, level by level.
func (e *Marker) readGoroutines(h *heap) ([]*gState, error) {
	hdr := make([]byte, 16)
	if err := e.r.read(hdr, e.allgs); err != nil {
		return nil, fmt.Errorf("reading runtime.allgs: %w", err)
	}
	ptr, n := le64(hdr, 0), le64(hdr, 8)
	if n > maxGoroutines {
		return nil, fmt.Errorf("runtime.allgs has %d entries: %w", n, ErrChanged)
	}
	ptrs := make([]byte, 8*n)
	if err := e.r.read(ptrs, ptr); err != nil {
		return nil, fmt.Errorf("reading %d runtime.allgs entries: %w", n, err)
	}
	addrs := make([]uint64, 0, n)
	for i := uint64(0); i < n; i++ {
		if a := le64(ptrs, 8*i); a != 0 {
			addrs = append(addrs, a)
		}
	}
	gs := make([]*gState, 0, len(addrs))
	err := e.readGs(addrs, func(addr uint64, b []byte, ok bool) error {
		if !ok {
			return fmt.Errorf("reading g at %#x: %w", addr, ErrChanged)
		}
		if g := e.decodeG(addr, b); g != nil {
			gs = append(gs, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := h.charge(int64(len(gs)) * gStateBytes); err != nil {
		return nil, err
	}
	if err := e.readSudogs(gs); err != nil {
		return nil, err
	}
	return gs, nil
}

// gStateBytes is what the mark keeps per goroutine, for its memory budget.
const gStateBytes = 512

// readGs reads the g's at addrs in chunks through one buffer, calling f
// with each copy (valid only during the call).
func (e *Marker) readGs(addrs []uint64, f func(addr uint64, b []byte, ok bool) error) error {
	const chunk = 1024
	size := int(e.L.gSize)
	buf := make([]byte, chunk*size)
	reads := make([]procmem.Span, 0, chunk)
	for len(addrs) > 0 {
		part := addrs[:min(len(addrs), chunk)]
		addrs = addrs[len(part):]
		reads = reads[:0]
		for i, a := range part {
			reads = append(reads, procmem.Span{Addr: a, Buf: buf[i*size : (i+1)*size]})
		}
		ok, err := e.r.readEach(reads)
		if err != nil {
			return err
		}
		for i, rd := range reads {
			if err := f(rd.Addr, rd.Buf, ok[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeG decodes a g copy; nil for a dead or idle g.
func (e *Marker) decodeG(addr uint64, b []byte) *gState {
	L := e.L
	g := &gState{
		addr: addr, goid: le64(b, L.gGoid), status: le32(b, L.gStatus) &^ gScanBit,
		stackLo: le64(b, L.gStackLo), stackHi: le64(b, L.gStackHi),
		schedSP: le64(b, L.gSchedSP), schedPC: le64(b, L.gSchedPC), schedLR: le64(b, L.gSchedLR),
		ctxt: le64(b, L.gSchedCtxt), syscallSP: le64(b, L.gSyscallSP), syscallPC: le64(b, L.gSyscallPC),
		waiting: le64(b, L.gWaiting), gopc: le64(b, L.gGopc), startPC: le64(b, L.gStartPC),
		waitSince: int64(le64(b, L.gWaitSince)),
	}
	if L.gXRegs != 0 {
		g.xRegs = le64(b, L.gXRegs)
	}
	switch {
	case g.status == gIdle || g.status == gDead:
		return nil
	case g.status == gDeadExtra && L.minor >= 26:
		return nil
	}
	waiting := g.status == gWaiting || (g.status == gLeaked && L.minor >= 26)
	if waiting {
		g.status = gWaiting
		g.reasonCode = b[L.gWaitReason]
		g.reason = e.waitReasons[g.reasonCode]
		g.class = waitClasses[g.reason]
	}
	return g
}

// readSudogs reads the g.waiting lists of the goroutines blocked on a
// channel or a sync primitive, one level of every list per batch.
func (e *Marker) readSudogs(gs []*gState) error {
	L := e.L
	type cursor struct {
		g    *gState
		next uint64
	}
	var cur []cursor
	for _, g := range gs {
		if (g.class == waitChan || g.class == waitSync) && g.waiting != 0 {
			cur = append(cur, cursor{g, g.waiting})
		}
	}
	for depth := 0; len(cur) > 0; depth++ {
		reads := make([]procmem.Span, len(cur))
		buf := make([]byte, len(cur)*int(L.sgSize))
		for i, c := range cur {
			reads[i] = procmem.Span{Addr: c.next, Buf: buf[i*int(L.sgSize) : (i+1)*int(L.sgSize)]}
		}
		ok, err := e.r.readEach(reads)
		if err != nil {
			return err
		}
		next := cur[:0]
		for i, c := range cur {
			if !ok[i] {
				c.g.sudogs = nil // unknown: treated as runnable
				c.g.class = waitRoot
				continue
			}
			b := reads[i].Buf
			c.g.sudogs = append(c.g.sudogs, sudog{addr: c.next, c: le64(b, L.sgC), elem: le64(b, L.sgElem)})
			// A sync wait has one sudog: its waitlink chains the other
			// waiters on the same semaphore, not this goroutine's list.
			if wl := le64(b, L.sgWaitlink); wl != 0 && c.g.class == waitChan && depth < maxSudogs {
				next = append(next, cursor{c.g, wl})
			}
		}
		cur = next
	}
	for _, g := range gs {
		// A blocked goroutine without its sudogs (parking, or waking up)
		// cannot be judged: the mark treats it as runnable.
		if (g.class == waitChan || g.class == waitSync) && len(g.sudogs) == 0 {
			g.class = waitRoot
		}
	}
	return nil
}
