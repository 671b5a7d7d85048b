package leak

import (
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
)

// maxStackBytes bounds the stack read of one goroutine (the runtime's
// default maximum is 1 GB; a stack that large is not read).
const maxStackBytes = 256 << 20

// stackWords is a local copy of [base, base+len(data)) of a stack.
type stackWords struct {
	base uint64
	data []byte
}

// Word implements goruntime.StackWords.
func (s stackWords) Word(addr uint64) (uint64, error) {
	if addr < s.base || addr+8 > s.base+uint64(len(s.data)) {
		return 0, fmt.Errorf("stack slot %#x outside [%#x, %#x)", addr, s.base, s.base+uint64(len(s.data)))
	}
	return le64(s.data, addr-s.base), nil
}

// region returns the copy of [lo, hi) clipped to the stack copy.
func (s stackWords) region(lo, hi uint64) []byte {
	end := s.base + uint64(len(s.data))
	lo, hi = max(lo, s.base), min(hi, end)
	if lo >= hi {
		return nil
	}
	return s.data[lo-s.base : hi-s.base]
}

// scanStack scans a root goroutine's stack the way the runtime's scanstack
// does: the saved context register, then every frame with its stack maps at
// the frame's pc (locals and arguments precisely, stack objects
// conservatively), a frame interrupted by a signal (async preemption)
// conservatively. What cannot be walked is scanned conservatively, so the
// scan only ever finds more pointers than the runtime, never fewer; the
// exception is a running goroutine, whose registers are not in memory (its
// whole stack is scanned conservatively).
func (e *Marker) scanStack(m *marker, g *gState) error {
	m.markPtr(g.ctxt)
	cur := *g
	for attempt := 0; ; attempt++ {
		buf, sp, consistent, err := e.readStack(&cur)
		if err != nil {
			return err
		}
		if consistent {
			m.markPtr(cur.ctxt)
			e.walkStack(m, &cur, buf, sp)
			return nil
		}
		if attempt == maxStackRetries || buf == nil {
			// Running (registers not in memory), being moved, or changing
			// while read: every word of the stack.
			e.stats.consStacks++
			all := e.stackBuf(cur.stackHi - cur.stackLo)
			if err := e.r.read(all, cur.stackLo); err != nil {
				return fmt.Errorf("reading the stack of goroutine %d: %w", g.goid, err)
			}
			m.scanConservative(all)
			return nil
		}
	}
}

// stackBuf returns the Marker's stack buffer sized n: one stack is scanned
// at a time. Stacks larger than the mark's memory budget are not read
// (readStack checks).
func (e *Marker) stackBuf(n uint64) []byte {
	if uint64(cap(e.stackScratch)) < n {
		e.stackScratch = make([]byte, n)
	}
	return e.stackScratch[:n]
}

// maxStackRetries bounds the re-reads of a stack that changes while read.
const maxStackRetries = 3

// readStack reads [sp, hi) of a goroutine's stack and re-reads its g: the
// copy is consistent when the goroutine did not move in between (same
// status, saved registers and stack bounds). g is updated to the re-read.
// A nil buf means the stack cannot be walked (running, being copied).
func (e *Marker) readStack(g *gState) (buf []byte, sp uint64, consistent bool, err error) {
	lo, hi := g.stackLo, g.stackHi
	if hi <= lo || hi-lo > maxStackBytes {
		return nil, 0, false, fmt.Errorf("goroutine %d: stack [%#x, %#x): %w", g.goid, lo, hi, ErrChanged)
	}
	if budget := e.cfg.MaxMemory; budget > 0 && int64(hi-lo) > budget/2 {
		return nil, 0, false, fmt.Errorf("goroutine %d has a %d MiB stack: %w", g.goid, (hi-lo)>>20, ErrTooLarge)
	}
	sp = g.schedSP
	if g.syscallSP != 0 {
		sp = g.syscallSP
	}
	if g.status == gRunning || g.status == gCopystack || sp < lo || sp >= hi {
		return nil, 0, false, nil
	}
	buf = e.stackBuf(hi - sp)
	if len(e.gScratch) != int(e.L.gSize) {
		e.gScratch = make([]byte, e.L.gSize)
	}
	gb := e.gScratch
	ok, err := e.r.readEach([]procmem.Span{{Addr: sp, Buf: buf}, {Addr: g.addr, Buf: gb}})
	if err != nil {
		return nil, 0, false, err
	}
	if !ok[0] || !ok[1] {
		return nil, 0, false, nil
	}
	now := e.decodeG(g.addr, gb)
	if now == nil {
		return nil, 0, false, nil // exited: nothing of it to scan
	}
	same := now.status == g.status && now.schedSP == g.schedSP && now.schedPC == g.schedPC &&
		now.syscallSP == g.syscallSP && now.syscallPC == g.syscallPC && now.stackLo == lo && now.stackHi == hi
	*g = *now
	return buf, sp, same, nil
}

// walkStack scans a consistent copy of a stack from sp, frame by frame.
func (e *Marker) walkStack(m *marker, g *gState, buf []byte, sp uint64) {
	hi := g.stackHi
	pc, lr := g.schedPC, g.schedLR
	if g.syscallSP != 0 {
		pc, lr = g.syscallPC, 0
	}
	s := stackWords{base: sp, data: buf}
	if g.xRegs != 0 {
		e.scanXRegs(m, g)
	}
	fs := frameScanner{e: e, m: m, s: s}
	done := sp // everything below done is accounted for
	err := e.rt.WalkStack(s, pc, sp, lr, func(f goruntime.PhysFrame) bool {
		if f.FP == 0 || f.FP < f.SP || f.FP > hi {
			return false
		}
		fs.frame(f)
		done = f.FP
		return true
	})
	if err != nil || done < hi {
		// The walk stopped early: the rest of the stack conservatively.
		if err != nil {
			e.stats.consWalks++
			e.cfg.Logger.Debug("stack scanned conservatively", "goid", g.goid, "status", g.status, "reason", g.reason, "pc", g.schedPC, "syscallpc", g.syscallPC, "sp", g.schedSP, "err", err)
		}
		m.scanConservative(s.region(done, hi))
	}
}

// scanXRegs scans the extended registers an async-preempted goroutine saved
// (Go 1.26+), conservatively like the runtime's xRegScan.
func (e *Marker) scanXRegs(m *marker, g *gState) {
	buf := make([]byte, e.L.xRegsSize)
	if err := e.r.read(buf, g.xRegs); err == nil {
		m.scanConservative(buf)
	}
}

// frameScanner scans the frames of one stack.
type frameScanner struct {
	e *Marker
	m *marker
	s stackWords
	// conservative: the next frame is scanned conservatively (it was
	// interrupted asynchronously, or its callee's arguments are unknown).
	conservative bool
}

// frame scans one physical frame, as the runtime's scanframeworker.
func (fs *frameScanner) frame(f goruntime.PhysFrame) {
	e := fs.e
	arm := e.b.Arch == goexe.ARM64
	varp := f.FP
	if !arm {
		varp -= ptrSize // return address
	}
	if varp > f.SP {
		varp -= ptrSize // saved frame pointer
	}
	argp := f.FP
	if arm {
		argp += ptrSize
	}
	if f.Meta.TopFrame {
		return
	}
	async := f.Meta.FuncID == "asyncPreempt" || f.Meta.FuncID == "debugCallV2"
	maps := e.stackMaps(f.PC - e.bias)
	if fs.conservative || async || maps == nil {
		// The frame, its arguments (in the caller's frame), and on arm64
		// the small frame the signal handler pushed above an injected call.
		e.stats.consFrames++
		end := f.FP
		if arm && async {
			end += 16
		}
		fs.m.scanConservative(fs.s.region(f.SP, end))
		next := async // the interrupted frame is scanned conservatively too
		if maps != nil && maps.ArgsKnown {
			fs.m.scanConservative(fs.s.region(argp, argp+uint64(max(maps.ArgBytes, 0))))
		} else {
			next = true // arguments unknown: the caller's frame holds them
		}
		fs.conservative = next
		return
	}
	fs.conservative = false
	minsize := uint64(0)
	if arm {
		minsize = 16
	}
	if size := varp - f.SP; size > minsize {
		if !maps.HasLocals {
			fs.m.scanConservative(fs.s.region(f.SP, varp))
		} else if n := uint64(maps.Locals.N); n > 0 {
			fs.scanBitmap(varp-n*ptrSize, maps.Locals)
		}
	}
	switch {
	case !maps.ArgsKnown:
		fs.conservative = true // reflect stub: the caller's frame holds them
	case maps.ArgBytes > 0 && maps.HasArgs:
		fs.scanBitmap(argp, maps.Args)
	case maps.ArgBytes > 0:
		fs.m.scanConservative(fs.s.region(argp, argp+uint64(maps.ArgBytes)))
	}
	for _, o := range maps.Objects {
		base := argp
		if o.Off < 0 {
			base = varp
		}
		a := base + uint64(int64(o.Off))
		fs.m.scanConservative(fs.s.region(a, a+uint64(o.Size)))
	}
}

// scanBitmap marks the words of [addr, addr+8*n) the bitmap says hold
// pointers.
func (fs *frameScanner) scanBitmap(addr uint64, bm goexe.StackBitmap) {
	for i := int32(0); i < bm.N; i++ {
		if bm.Ptr(i) {
			if v, err := fs.s.Word(addr + uint64(i)*ptrSize); err == nil {
				fs.m.markPtr(v)
			}
		}
	}
}

// stackMaps returns the stack maps at a link-time pc, cached; nil when they
// are missing or unreadable (the frame is then scanned conservatively).
func (e *Marker) stackMaps(pc uint64) *goexe.StackMaps {
	if m, ok := e.maps[pc]; ok {
		return m
	}
	if len(e.maps) > maxStackMapCache {
		clear(e.maps)
	}
	var out *goexe.StackMaps
	if m, err := e.b.StackMapsAt(pc); err == nil {
		out = &m
	}
	e.maps[pc] = out
	return out
}

// maxStackMapCache bounds the per-engine cache of stack maps.
const maxStackMapCache = 4096
