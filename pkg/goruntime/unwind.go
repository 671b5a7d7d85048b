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

// unwind walks the stack from (pc, sp, lr) with the pclntab SP deltas, like
// the runtime's unwinder, until a top frame (runtime.goexit). Every pc must
// be in a function and follow a call (except an interrupted one and the
// synthetic goexit+1); otherwise it stops with an error and returns the
// frames validated so far.
func (r *Runtime) unwind(s *stackCopy, pc, sp, lr uint64) ([]Frame, error) {
	var frames []Frame
	if pc == 0 { // as initAt: the pc is on the stack
		v, err := s.word(sp)
		if err != nil {
			return nil, err
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
			return frames, fmt.Errorf("pc %#x is in no function", pc)
		}
		if !trap && !meta.TopFrame && lpc != meta.Entry && !r.b.IsReturnAddress(lpc) {
			return frames, fmt.Errorf("pc %#x (%s+%#x) does not follow a call", pc, meta.Name, lpc-meta.Entry)
		}
		frames = append(frames, r.frames(meta, pc, sp, trap)...)
		if meta.TopFrame {
			return frames, nil
		}
		if meta.SPWrite && !innermost {
			return frames, fmt.Errorf("%s writes SP: cannot unwind past it", meta.Name)
		}
		d, ok := r.b.SPDelta(lpc)
		if !ok {
			return frames, fmt.Errorf("no SP delta at %s+%#x", meta.Name, lpc-meta.Entry)
		}
		var ret, callerSP uint64
		var err error
		if r.b.Arch == goexe.AMD64 {
			callerSP = sp + uint64(d) + 8
			ret, err = s.word(callerSP - 8)
		} else {
			ret, callerSP, lr, err = r.stepLR(s, meta, sp, uint64(d), lr, innermost)
		}
		if err != nil {
			return frames, err
		}
		if ret == 0 {
			return frames, fmt.Errorf("return address 0 above %s before reaching goexit", meta.Name)
		}
		trap, innermost = injected(meta.FuncID), false
		pc, sp = ret, callerSP
	}
	return frames, fmt.Errorf("more than %d frames", maxFrames)
}

// stepLR is one unwind step on a link-register architecture (arm64): the
// frame's saved LR is at its SP, the caller's SP is SP+delta; a frame
// injected by a signal saved the interrupted LR above itself.
func (r *Runtime) stepLR(s *stackCopy, meta goexe.FuncMeta, sp, d, lr uint64, innermost bool) (ret, callerSP, nextLR uint64, err error) {
	fp := sp + d
	if innermost && sp < fp || lr == 0 {
		if lr, err = s.word(sp); err != nil {
			return 0, 0, 0, err
		}
	}
	ret, callerSP = lr, fp
	if injected(meta.FuncID) {
		x, err := s.word(callerSP)
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
