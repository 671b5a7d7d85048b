package goruntime

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// Stack copy sizes: the first read covers up to initialStack bytes above
// the saved SP; a walk that leaves the copy extends it, up to maxStack.
const (
	initialStack = 16 << 10
	maxStack     = 4 << 20
)

// stackCopy is a local copy of [base, base+len(data)) of a goroutine stack
// [lo, hi).
type stackCopy struct {
	mem      procmem.Reader
	lo, hi   uint64
	base     uint64
	data     []byte
	extended int
}

// newStackCopy reads the stack from sp up.
func newStackCopy(mem procmem.Reader, lo, hi, sp uint64) (*stackCopy, error) {
	if sp < lo || sp >= hi || hi-lo > 1<<30 {
		return nil, fmt.Errorf("saved sp %#x outside the stack [%#x, %#x)", sp, lo, hi)
	}
	s := &stackCopy{mem: mem, lo: lo, hi: hi, base: sp}
	if err := s.fill(min(hi-sp, initialStack)); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stackCopy) fill(n uint64) error {
	buf := make([]byte, n)
	if err := procmem.ReadFull(s.mem, buf, s.base); err != nil {
		return fmt.Errorf("reading %d stack bytes at %#x: %w", n, s.base, err)
	}
	s.data = buf
	return nil
}

// Word returns the 8 bytes at addr, extending the copy when needed.
func (s *stackCopy) Word(addr uint64) (uint64, error) {
	if addr < s.base || addr+8 > s.hi || addr+8 < addr {
		return 0, fmt.Errorf("stack slot %#x outside the stack [%#x, %#x)", addr, s.base, s.hi)
	}
	if end := addr + 8 - s.base; end > uint64(len(s.data)) {
		n := min(s.hi-s.base, max(2*uint64(len(s.data)), end+initialStack))
		if n > maxStack {
			return 0, fmt.Errorf("stack deeper than %d bytes", maxStack)
		}
		if err := s.fill(n); err != nil {
			return 0, err
		}
		s.extended++
	}
	off := addr - s.base
	return binary.LittleEndian.Uint64(s.data[off:]), nil
}

// readStack unwinds the goroutine's stack from its saved registers, the way
// the runtime's traceback does (runtime/traceback.go initAt).
func (r *Runtime) readStack(g *Goroutine, w gWords) {
	L := r.g
	pc, sp, lr := w.u64(L.schedPC), w.u64(L.schedSP), w.u64(L.schedLR)
	switch g.Status.V {
	case gRunning:
		g.StackErr = fmt.Sprintf("running on thread %s: its registers are not in memory", g.TID)
		return
	case gDead, gIdle:
		g.StackErr = "goroutine is " + g.StatusName
		return
	case gCopystack:
		g.StackErr = "stack being copied"
		return
	case gSyscall:
		if s := w.u64(L.syscallSP); s != 0 {
			pc, sp, lr = w.u64(L.syscallPC), s, 0
		}
	}
	if sp == 0 {
		g.StackErr = "no saved stack pointer (sched.sp is 0)"
		return
	}
	s, err := newStackCopy(r.mem, w.u64(L.stackLo), w.u64(L.stackHi), sp)
	if err != nil {
		g.StackErr = err.Error()
		return
	}
	frames, err := r.unwind(s, pc, sp, lr)
	g.Stack = frames
	if err != nil {
		g.StackErr = err.Error()
	}
}
