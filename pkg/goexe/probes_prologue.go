package goexe

import (
	"fmt"
	"reflect"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// Stack-check prologues the Go compiler emits (cmd/internal/obj/x86/obj6.go
// and obj/arm64/obj7.go, stacksplit). g is R14 on amd64 and R28 on arm64;
// stackguard0 is at g+16, stackguard1 (functions that must run on the system
// stack, e.g. stopTheWorldWithSema) at g+24:
//
//	amd64 small frame:  CMPQ SP, 0x10(R14); JBE morestack
//	amd64 large frame:  LEAQ -x(SP), R12; CMPQ R12, 0x10(R14); JBE morestack
//	arm64 small frame:  MOVD 16(R28), R16; CMP R16, RSP; BLS morestack
//	arm64 large frame:  MOVD 16(R28), R16; SUB $x, RSP, R17; CMP R16, R17; BLS morestack
//
// These write only R12 (amd64) or R16/R17 (arm64) and the flags, never an
// argument register, and contain no branch, so the conditional branch runs
// exactly once per entry with the arguments unchanged. The huge-frame shape
// (an extra overflow branch) is deliberately not accepted.
const maxMorestackScan = 48

// stackCheckBranch returns the index of the prologue's stack-check branch.
func (b *Binary) stackCheckBranch(fn Func, insts []Inst) (int, error) {
	var i int
	var ok bool
	if b.Arch == ARM64 {
		i, ok = arm64StackCheck(insts)
	} else {
		i, ok = x86StackCheck(insts)
	}
	if !ok {
		return 0, fmt.Errorf("%s: prologue is not a known stack-check shape (NOSPLIT function?): starts %q", fn.Name, firstText(insts))
	}
	br := insts[i]
	if br.Target <= fn.Entry || br.Target >= fn.End {
		return 0, fmt.Errorf("%s: stack-check branch at %#x leaves the function", fn.Name, br.Addr)
	}
	if err := b.checkMorestackPath(fn, insts, br.Target); err != nil {
		return 0, err
	}
	return i, nil
}

// checkMorestackPath verifies that the branch target is the slow path: a
// straight run of instructions reaching a direct CALL of runtime.morestack*.
func (b *Binary) checkMorestackPath(fn Func, insts []Inst, target uint64) error {
	start := -1
	for j, in := range insts {
		if in.Addr == target {
			start = j
			break
		}
	}
	if start < 0 {
		return fmt.Errorf("%s: stack-check branch target %#x is not an instruction boundary", fn.Name, target)
	}
	for j := start; j < len(insts) && j < start+maxMorestackScan; j++ {
		in := insts[j]
		if in.Call {
			if f, ok := b.FuncAt(in.Target); ok && !in.Indirect && f.Entry == in.Target &&
				isMorestack(f.Name) {
				return nil
			}
			break
		}
		if in.Target != 0 || in.Indirect || in.Op == "RET" {
			break
		}
	}
	return fmt.Errorf("%s: stack-check branch target %#x does not call runtime.morestack", fn.Name, target)
}

// isMorestack matches the stack-growth entry points: morestack (closures),
// morestack_noctxt, and morestackc (system-stack functions: it throws).
func isMorestack(name string) bool {
	switch name {
	case "runtime.morestack", "runtime.morestack_noctxt", "runtime.morestackc":
		return true
	}
	return false
}

func firstText(insts []Inst) string {
	if len(insts) == 0 {
		return ""
	}
	return insts[0].Text
}

// x86StackCheck matches the amd64 shapes and returns the JBE's index.
func x86StackCheck(insts []Inst) (int, bool) {
	raw := func(i int) (x86asm.Inst, bool) {
		if i >= len(insts) {
			return x86asm.Inst{}, false
		}
		x, ok := insts[i].Raw.(x86asm.Inst)
		return x, ok
	}
	i := 0
	x, ok := raw(0)
	if !ok {
		return 0, false
	}
	switch {
	case x86CmpGuard(x, x86asm.RSP):
		i = 1
	case x.Op == x86asm.LEA && x.Args[0] == x86asm.R12 && x86MemBase(x.Args[1], x86asm.RSP):
		if y, ok := raw(1); ok && x86CmpGuard(y, x86asm.R12) {
			i = 2
		} else {
			return 0, false
		}
	default:
		return 0, false
	}
	if i >= len(insts) || insts[i].Op != "JBE" {
		return 0, false
	}
	return i, true
}

// x86CmpGuard matches CMPQ reg, 0x10(R14) or 0x18(R14).
func x86CmpGuard(x x86asm.Inst, reg x86asm.Reg) bool {
	if x.Op != x86asm.CMP || x.Args[0] != reg || x.DataSize != 64 {
		return false
	}
	m, ok := x.Args[1].(x86asm.Mem)
	return ok && m.Base == x86asm.R14 && m.Index == 0 && m.Segment == 0 && (m.Disp == 0x10 || m.Disp == 0x18)
}

func x86MemBase(a x86asm.Arg, base x86asm.Reg) bool {
	m, ok := a.(x86asm.Mem)
	return ok && m.Base == base && m.Index == 0 && m.Segment == 0
}

// arm64StackCheck matches the arm64 shapes and returns the BLS's index.
func arm64StackCheck(insts []Inst) (int, bool) {
	raw := func(i int) (arm64asm.Inst, bool) {
		if i >= len(insts) {
			return arm64asm.Inst{}, false
		}
		x, ok := insts[i].Raw.(arm64asm.Inst)
		return x, ok
	}
	x, ok := raw(0)
	if !ok || x.Op != arm64asm.LDR || x.Args[0] != arm64asm.X16 {
		return 0, false
	}
	m, ok := x.Args[1].(arm64asm.MemImmediate)
	if !ok || m.Base != arm64asm.RegSP(arm64asm.X28) || m.Mode != arm64asm.AddrOffset {
		return 0, false
	}
	if off, ok := memImm(m); !ok || (off != 16 && off != 24) {
		return 0, false
	}
	i := 1
	if y, ok := raw(1); ok && y.Op == arm64asm.SUB && arm64RegNum(y.Args[0]) == 17 && arm64RegNum(y.Args[1]) == 31 {
		if _, ok := immShiftValue(y.Args[2]); !ok {
			return 0, false
		}
		i = 2
	}
	y, ok := raw(i)
	if !ok || y.Op != arm64asm.CMP {
		return 0, false
	}
	// CMP R16, RSP (compares SP with X16) or CMP R16, R17.
	lhs, rhs := arm64RegNum(y.Args[0]), arm64RegNum(y.Args[1])
	want := 31 // SP
	if i == 2 {
		want = 17
	}
	if lhs != want || rhs != 16 {
		return 0, false
	}
	i++
	if i >= len(insts) || insts[i].Op != "B.LS" {
		return 0, false
	}
	return i, true
}

// arm64RegNum returns the X register number of a Reg/RegSP/extended
// register operand (31 for SP/XZR), or -1.
func arm64RegNum(a arm64asm.Arg) int {
	switch r := a.(type) {
	case arm64asm.Reg:
		if r >= arm64asm.X0 && r <= arm64asm.XZR {
			return int(r - arm64asm.X0)
		}
	case arm64asm.RegSP:
		if arm64asm.Reg(r) >= arm64asm.X0 && arm64asm.Reg(r) <= arm64asm.XZR {
			return int(arm64asm.Reg(r) - arm64asm.X0)
		}
	case arm64asm.RegExtshiftAmount:
		// The extended-register CMP form; fields are unexported.
		v := reflect.ValueOf(r)
		reg, amount := v.FieldByName("reg"), v.FieldByName("amount")
		if reg.IsValid() && amount.IsValid() && amount.Uint() == 0 {
			return arm64RegNum(arm64asm.Reg(reg.Uint()))
		}
	}
	return -1
}
