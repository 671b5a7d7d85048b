package goexe

import (
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
)

// Names of the points in ProbePoints.Missing (the JSON names). A FuncProbe
// whose Cheap point was not found adds "<name>.cheap" with the reason.
const (
	ptQueueFinalizer = "queuefinalizer"
	ptSetFinalizer   = "setfinalizer"
	ptFinalizerCall  = "finalizer_call"
	ptCleanupEnqueue = "cleanup_enqueue"
	ptCleanupCall    = "cleanup_call"
	ptGCStartCycle   = "gc_start_cycle"
	ptSTWStop        = "stw_stop"
	ptSTWStart       = "stw_start"
)

// findProbes locates every probe point by decoding the runtime functions.
// A point is either located with certainty or left nil with a reason in
// Missing; nothing is guessed and no offset is hard-coded.
func findProbes(b *Binary) ProbePoints {
	pp := ProbePoints{Missing: map[string]string{}}
	fp := func(key, name string) *FuncProbe {
		p, err := b.funcProbe(name)
		if err != nil {
			pp.Missing[key] = err.Error()
			return nil
		}
		if p.Cheap == nil {
			pp.Missing[key+".cheap"] = p.cheapWhy
		}
		return &p.FuncProbe
	}
	pp.QueueFinalizer = fp(ptQueueFinalizer, "runtime.queuefinalizer")
	pp.SetFinalizer = fp(ptSetFinalizer, "runtime.SetFinalizer")
	pp.GCStartCycle = fp(ptGCStartCycle, "runtime.(*gcControllerState).startCycle")
	pp.STWStop = fp(ptSTWStop, "runtime.stopTheWorldWithSema")
	pp.STWStart = fp(ptSTWStart, "runtime.startTheWorldWithSema")
	if b.Version.AtLeast(1, 25) {
		pp.CleanupEnqueue = fp(ptCleanupEnqueue, "runtime.(*cleanupQueue).enqueue")
	} else {
		pp.Missing[ptCleanupEnqueue] = "runtime.(*cleanupQueue).enqueue exists from go1.25 (go1.24 queues cleanups through runtime.queuefinalizer)"
	}

	pp.FinalizerRunner = "runtime.runfinq"
	if b.Version.AtLeast(1, 25) {
		pp.FinalizerRunner = "runtime.runFinalizers"
	}
	var err error
	if pp.FinalizerCall, err = b.finalizerCall(pp.FinalizerRunner); err != nil {
		pp.Missing[ptFinalizerCall] = err.Error()
	}

	switch {
	case !b.Version.AtLeast(1, 24):
		pp.Missing[ptCleanupCall] = "cleanups (runtime.AddCleanup) exist from go1.24"
	default:
		pp.CleanupRunner = "runtime.runfinq"
		if b.Version.AtLeast(1, 25) {
			pp.CleanupRunner = "runtime.runCleanups"
		}
		if pp.CleanupCall, err = b.cleanupCall(pp.CleanupRunner); err != nil {
			pp.Missing[ptCleanupCall] = err.Error()
		}
	}
	return pp
}

// maxSameName bounds how many same-named functions funcBody decodes (a
// body and its ABI wrapper are two).
const maxSameName = 4

// funcProbeResult is a FuncProbe and why Cheap is nil.
type funcProbeResult struct {
	FuncProbe
	cheapWhy string
}

// funcProbe locates the entry and the prologue's stack-check branch of the
// (ABIInternal body of the) named function.
func (b *Binary) funcProbe(name string) (funcProbeResult, error) {
	fn, insts, err := b.funcBody(name)
	if err != nil {
		return funcProbeResult{}, err
	}
	var r funcProbeResult
	if r.Entry, err = b.point(fn, insts[0]); err != nil {
		return funcProbeResult{}, err
	}
	i, err := b.stackCheckBranch(fn, insts)
	if err != nil {
		r.cheapWhy = err.Error()
		return r, nil
	}
	cheap, err := b.point(fn, insts[i])
	if err != nil {
		r.cheapWhy = err.Error()
		return r, nil
	}
	r.Cheap = &cheap
	return r, nil
}

// point describes one decoded instruction of fn as a probe point.
func (b *Binary) point(fn Func, in Inst) (Point, error) {
	off, err := b.FileOffset(in.Addr)
	if err != nil {
		return Point{}, fmt.Errorf("%s at %#x: %w", fn.Name, in.Addr, err)
	}
	return Point{Func: fn.Name, Addr: in.Addr, Offset: off, Inst: in.Text, Emulated: in.Emulated}, nil
}

// callSite builds the CallSite for the call insts[i] of fn: the call and the
// instruction it returns to.
func (b *Binary) callSite(fn Func, insts []Inst, i int) (*CallSite, error) {
	if i+1 >= len(insts) || insts[i+1].Unknown() {
		return nil, fmt.Errorf("%s: no instruction after the CALL at %#x", fn.Name, insts[i].Addr)
	}
	call, err := b.point(fn, insts[i])
	if err != nil {
		return nil, err
	}
	resume, err := b.point(fn, insts[i+1])
	if err != nil {
		return nil, err
	}
	return &CallSite{Call: call, Resume: resume}, nil
}

// funcBody returns the function named name, decoded, with trailing
// alignment padding removed. Every instruction must decode.
//
// Several pclntab functions share a name when the compiler generated an ABI
// wrapper (ABI0 -> ABIInternal for Go functions called from assembly). The
// wrapper's only job is to call or tail-jump to the body, so the body is
// chosen as the one candidate that every other candidate transfers control
// to directly, and that itself transfers to none of them. Anything else is
// ambiguous and reported as an error.
func (b *Binary) funcBody(name string) (Func, []Inst, error) {
	cands := b.FuncsNamed(name)
	switch {
	case len(cands) == 0:
		return Func{}, nil, fmt.Errorf("%s: not in .gopclntab", name)
	case len(cands) > maxSameName:
		return Func{}, nil, fmt.Errorf("%s: %d functions share the name", name, len(cands))
	}
	decoded := make([][]Inst, len(cands))
	for i, fn := range cands {
		insts, err := b.decodeBody(fn)
		if err != nil {
			return Func{}, nil, err
		}
		decoded[i] = insts
	}
	if len(cands) == 1 {
		return cands[0], decoded[0], nil
	}
	body := -1
	for i, c := range cands {
		isBody := true
		for j := range cands {
			if j != i && (!transfersTo(decoded[j], c.Entry) || transfersTo(decoded[i], cands[j].Entry)) {
				isBody = false
			}
		}
		if isBody {
			if body >= 0 {
				body = -2
				break
			}
			body = i
		}
	}
	if body < 0 {
		return Func{}, nil, fmt.Errorf("%s: %d functions share the name and none is the unique target of the others (ABI wrapper)", name, len(cands))
	}
	return cands[body], decoded[body], nil
}

// transfersTo reports whether insts hold a direct CALL or JMP to target.
func transfersTo(insts []Inst, target uint64) bool {
	for _, in := range insts {
		if in.Target == target && !in.CondJump {
			return true
		}
	}
	return false
}

// decodeBody decodes fn and strips its trailing padding (INT3 on amd64,
// zero words on arm64). On amd64 any other undecodable byte is an error: the
// instruction stream would lose sync and could hide or invent a call. arm64
// instructions are fixed-width, so an unknown word cannot shift the others;
// it is tolerated unless it lies in the branch/exception/system encoding
// group (bits 28:26 = 101), where an unknown word could be a branch or call.
// In practice the unknown words are LSE atomics (a load/store group).
func (b *Binary) decodeBody(fn Func) ([]Inst, error) {
	insts, err := b.Decode(fn)
	if err != nil {
		return nil, err
	}
	n := len(insts)
	for n > 0 && isPadding(insts[n-1]) {
		n--
	}
	insts = insts[:n]
	if n == 0 {
		return nil, fmt.Errorf("%s: empty function body", fn.Name)
	}
	for _, in := range insts {
		if in.Unknown() && !(b.Arch == ARM64 && !arm64BranchGroup(in)) {
			return nil, fmt.Errorf("%s: undecodable instruction at %#x (+%#x): %s", fn.Name, in.Addr, in.Addr-fn.Entry, in.Text)
		}
	}
	return insts, nil
}

func isPadding(in Inst) bool {
	if in.Op == "INT" && in.Len == 1 { // 0xcc, INT3
		return true
	}
	a, ok := in.Raw.(arm64asm.Inst)
	return ok && in.Unknown() && a.Enc == 0
}

// arm64BranchGroup reports whether an arm64 word is in the "branches,
// exception generating and system instructions" encoding group.
func arm64BranchGroup(in Inst) bool {
	a, ok := in.Raw.(arm64asm.Inst)
	return !ok || (a.Enc>>26)&7 == 5
}
