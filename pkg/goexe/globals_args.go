package goexe

import (
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// receiverArg returns the global address held in the first argument
// register (AX on amd64, R0 on arm64) at the end of insts: the last of the
// final four instructions that writes that register must compute a
// PC-relative address.
func receiverArg(insts []Inst) (uint64, bool) {
	for i := len(insts) - 1; i >= 0 && i >= len(insts)-4; i-- {
		in := insts[i]
		if in.Call {
			return 0, false
		}
		if !writesArg0(in) {
			continue
		}
		if in.LoadAddr && in.MemRef != 0 {
			return in.MemRef, true
		}
		return 0, false
	}
	return 0, false
}

// writesArg0 reports whether in's destination is the first integer argument
// register.
func writesArg0(in Inst) bool {
	switch raw := in.Raw.(type) {
	case x86asm.Inst:
		r, ok := raw.Args[0].(x86asm.Reg)
		return ok && (r == x86asm.RAX || r == x86asm.EAX)
	case arm64asm.Inst:
		switch r := raw.Args[0].(type) {
		case arm64asm.Reg:
			return r == arm64asm.X0 || r == arm64asm.W0
		case arm64asm.RegSP:
			return arm64asm.Reg(r) == arm64asm.X0 || arm64asm.Reg(r) == arm64asm.W0
		}
	}
	return false
}

// storesZero reports whether a store writes the constant zero (MOVQ $0 on
// amd64, a store of XZR on arm64).
func storesZero(in Inst) bool {
	switch raw := in.Raw.(type) {
	case x86asm.Inst:
		imm, ok := raw.Args[1].(x86asm.Imm)
		return ok && imm == 0
	case arm64asm.Inst:
		r, ok := raw.Args[0].(arm64asm.Reg)
		return ok && (r == arm64asm.XZR || r == arm64asm.WZR)
	}
	return false
}
