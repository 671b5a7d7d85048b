package goexe

import (
	"fmt"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// finalizerCall finds the call that runs one finalizer in the runner: the
// only direct CALL whose target is the entry of a function named
// runtime.reflectcall (pclntab has two: the ABI0 assembly body the runtime
// calls, and the ABIInternal wrapper).
func (b *Binary) finalizerCall(runner string) (*CallSite, error) {
	fn, insts, err := b.funcBody(runner)
	if err != nil {
		return nil, err
	}
	targets := map[uint64]bool{}
	for _, f := range b.FuncsNamed("runtime.reflectcall") {
		targets[f.Entry] = true
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s: runtime.reflectcall is not in .gopclntab", runner)
	}
	var hits []int
	for i, in := range insts {
		if in.Call && !in.Indirect && targets[in.Target] {
			hits = append(hits, i)
		}
	}
	switch len(hits) {
	case 0:
		return nil, fmt.Errorf("%s: no CALL to runtime.reflectcall found", runner)
	case 1:
		return b.callSite(fn, insts, hits[0])
	}
	return nil, fmt.Errorf("%s: %d CALLs to runtime.reflectcall found, expected exactly one", runner, len(hits))
}

// cleanupCall finds the call that runs one cleanup: the only indirect CALL in
// the runner (go1.24 runfinq: `fn()` in the f.arg == nil branch; go1.25
// runCleanups: `fn()`; go1.26+: `c.call(c.fn, c.arg)`). Each is a Go closure
// call, so the shape is also checked: the called register is loaded from
// the closure context register just before (amd64 `MOVQ 0(DX), reg; CALL
// reg`, arm64 `MOVD (R26), Rn; CALL (Rn)`).
func (b *Binary) cleanupCall(runner string) (*CallSite, error) {
	fn, insts, err := b.funcBody(runner)
	if err != nil {
		return nil, err
	}
	var hits []int
	for i, in := range insts {
		if in.Call && in.Indirect {
			hits = append(hits, i)
		}
	}
	switch {
	case len(hits) == 0:
		return nil, fmt.Errorf("%s: no indirect CALL found", runner)
	case len(hits) > 1:
		return nil, fmt.Errorf("%s: %d indirect CALLs found, expected exactly one", runner, len(hits))
	}
	i := hits[0]
	if !closureCall(b.Arch, insts, i) {
		return nil, fmt.Errorf("%s: the indirect CALL at %#x (%s) is not a closure call through the context register", runner, insts[i].Addr, insts[i].Text)
	}
	return b.callSite(fn, insts, i)
}

// maxClosureLoadDistance is how many instructions before the CALL the load
// of the code pointer may be (the compiler moves argument registers in
// between: 1.26 runCleanups has two).
const maxClosureLoadDistance = 4

// closureCall reports whether insts[i] calls a register loaded from 0(ctxt)
// within the few instructions before it, with that register not written in
// between.
func closureCall(arch Arch, insts []Inst, i int) bool {
	for j := i - 1; j >= 0 && j >= i-maxClosureLoadDistance; j-- {
		if arch == ARM64 {
			call, _ := insts[i].Raw.(arm64asm.Inst)
			ld, _ := insts[j].Raw.(arm64asm.Inst)
			reg := call.Args[0]
			if call.Op != arm64asm.BLR || reg == nil {
				return false
			}
			if ld.Args[0] != reg {
				continue
			}
			m, ok := ld.Args[1].(arm64asm.MemImmediate)
			off, okOff := memImm(m)
			return ld.Op == arm64asm.LDR && ok && okOff && off == 0 &&
				m.Base == arm64asm.RegSP(arm64asm.X26) && m.Mode == arm64asm.AddrOffset
		}
		call, _ := insts[i].Raw.(x86asm.Inst)
		ld, _ := insts[j].Raw.(x86asm.Inst)
		reg, ok := call.Args[0].(x86asm.Reg)
		if call.Op != x86asm.CALL || !ok {
			return false
		}
		if ld.Args[0] != reg {
			continue
		}
		m, ok := ld.Args[1].(x86asm.Mem)
		return ld.Op == x86asm.MOV && ok && m.Base == x86asm.RDX && m.Index == 0 && m.Disp == 0 && m.Segment == 0
	}
	return false
}
