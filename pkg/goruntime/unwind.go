package goruntime

import (
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// maxFrames bounds one unwind.
const maxFrames = 1024

// injected reports functions the runtime injects into a goroutine by a
// signal (runtime.isInjectedCall): the frame above them was interrupted, so
// its pc is not a return address.
func injected(funcID string) bool {
	return funcID == "sigpanic" || funcID == "asyncPreempt" || funcID == "debugCallV2"
}

// StackWords reads the words of a goroutine stack (a local copy of it).
type StackWords interface {
	// Word returns the 8 bytes at the runtime address addr.
	Word(addr uint64) (uint64, error)
}

// PhysFrame is one physical frame of a goroutine stack.
type PhysFrame struct {
	// PC is the frame's pc (runtime address): a return address, or the
	// interrupted pc when Trap is set; SP its stack pointer and FP its
	// caller's stack pointer (the runtime's frame.fp), 0 when unknown.
	PC, SP, FP uint64
	// Meta describes the function (link-time addresses).
	Meta goexe.FuncMeta
	// Trap marks a pc that is not a return address: the frame was
	// interrupted by a signal (the frame above asyncPreempt or sigpanic).
	Trap bool
}

// unwind walks the stack from (pc, sp, lr) and symbolizes every frame; see
// WalkStack.
func (r *Runtime) unwind(s StackWords, pc, sp, lr uint64) ([]Frame, error) {
	var frames []Frame
	err := r.WalkStack(s, pc, sp, lr, func(f PhysFrame) bool {
		frames = append(frames, r.frames(f.Meta, f.PC, f.SP, f.Trap)...)
		return true
	})
	return frames, err
}

// WalkStack walks a goroutine stack from its saved registers (pc, sp, lr)
// with the pclntab SP deltas, like the runtime's unwinder, calling visit for
// each physical frame, innermost first, until a top frame
// (runtime.goexit) or until visit returns false. Every pc must be in a
// function and follow a call (except an interrupted one and the synthetic
// goexit+1); otherwise it stops with an error after the frames validated so
// far. A pc of 0 means the pc is the word at sp (as the runtime's initAt).
func (r *Runtime) WalkStack(s StackWords, pc, sp, lr uint64, visit func(PhysFrame) bool) error {
	if pc == 0 {
		v, err := s.Word(sp)
		if err != nil {
			return err
		}
		pc = v
		if r.b.Arch == goexe.AMD64 {
			sp += 8
		}
	}
	trap, innermost := false, true
	for n := 0; n < maxFrames; n++ {
		lpc := r.link(pc)
		meta, ok := r.b.FuncMetaAt(lpc)
		if !ok {
			return fmt.Errorf("pc %#x is in no function", pc)
		}
		if !trap && !meta.TopFrame && lpc != meta.Entry && !r.b.IsReturnAddress(lpc) {
			return fmt.Errorf("pc %#x (%s+%#x) does not follow a call", pc, meta.Name, lpc-meta.Entry)
		}
		if meta.TopFrame {
			visit(PhysFrame{PC: pc, SP: sp, FP: sp, Meta: meta, Trap: trap})
			return nil
		}
		if meta.SPWrite && !innermost {
			visit(PhysFrame{PC: pc, SP: sp, FP: sp, Meta: meta, Trap: trap})
			return fmt.Errorf("%s writes SP: cannot unwind past it", meta.Name)
		}
		d, ok := r.b.SPDelta(lpc)
		if !ok {
			visit(PhysFrame{PC: pc, SP: sp, Meta: meta, Trap: trap}) // FP 0: unknown
			return fmt.Errorf("no SP delta at %s+%#x", meta.Name, lpc-meta.Entry)
		}
		var ret, callerSP uint64
		var err error
		if r.b.Arch == goexe.AMD64 {
			callerSP = sp + uint64(d) + 8
			ret, err = s.Word(callerSP - 8)
		} else {
			ret, callerSP, lr, err = r.stepLR(s, meta, sp, uint64(d), lr, innermost)
		}
		fp := callerSP
		if r.b.Arch != goexe.AMD64 && injected(meta.FuncID) {
			fp = sp + uint64(d) // stepLR stepped over the pushed frame too
		}
		if !visit(PhysFrame{PC: pc, SP: sp, FP: fp, Meta: meta, Trap: trap}) {
			return nil
		}
		if err != nil {
			return err
		}
		if ret == 0 {
			return fmt.Errorf("return address 0 above %s before reaching goexit", meta.Name)
		}
		trap, innermost = injected(meta.FuncID), false
		pc, sp = ret, callerSP
	}
	return fmt.Errorf("more than %d frames", maxFrames)
}

// stepLR is one unwind step on a link-register architecture (arm64): the
// frame's saved LR is at its SP, the caller's SP is SP+delta; a frame
// injected by a signal saved the interrupted LR above itself.
func (r *Runtime) stepLR(s StackWords, meta goexe.FuncMeta, sp, d, lr uint64, innermost bool) (ret, callerSP, nextLR uint64, err error) {
	fp := sp + d
	if innermost && sp < fp || lr == 0 {
		if lr, err = s.Word(sp); err != nil {
			return 0, 0, 0, err
		}
	}
	ret, callerSP = lr, fp
	if injected(meta.FuncID) {
		x, err := s.Word(callerSP)
		if err != nil {
			return 0, 0, 0, err
		}
		callerSP += 16 // alignUp(sys.MinFrameSize, sys.StackAlign)
		if cd, ok := r.b.SPDelta(r.link(ret)); ok && cd == 0 {
			nextLR = x
		}
	}
	return ret, callerSP, nextLR, nil
}

// frames symbolizes one physical frame into logical frames. trap means pc
// was interrupted (not a return address): it is looked up as is.
func (r *Runtime) frames(meta goexe.FuncMeta, pc, sp uint64, trap bool) []Frame {
	fr := r.symbolize(r.link(pc), !trap)
	entry := meta.Entry + r.bias
	out := make([]Frame, 0, len(fr))
	for _, f := range fr {
		out = append(out, Frame{
			Func: f.Func, File: f.File, Line: f.Line, PC: pc, Entry: entry,
			Offset: pc - entry, SP: sp, Inlined: f.Inlined,
		})
	}
	if len(out) == 0 {
		out = append(out, Frame{Func: meta.Name, PC: pc, Entry: entry, Offset: pc - entry, SP: sp})
	}
	return out
}
