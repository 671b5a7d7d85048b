package goexe

import (
	"fmt"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// decodeX86 disassembles 64-bit x86 code.
func decodeX86(code []byte, pc uint64, symname func(uint64) (string, uint64)) []Inst {
	out := make([]Inst, 0, len(code)/4)
	for off := 0; off < len(code); {
		addr := pc + uint64(off)
		xi, err := x86asm.Decode(code[off:], 64)
		if err != nil || xi.Len <= 0 || xi.Len > len(code)-off {
			out = append(out, Inst{Addr: addr, Len: 1, Op: "?", Text: fmt.Sprintf("? %#02x", code[off])})
			off++
			continue
		}
		in := Inst{Addr: addr, Len: xi.Len, Op: xi.Op.String(), Raw: xi}
		in.Text = x86Text(xi, addr, symname)
		classifyX86(&in, xi, code[off:off+xi.Len])
		out = append(out, in)
		off += xi.Len
	}
	return out
}

// x86Text formats in Go syntax; the formatter is not trusted not to panic on
// odd instructions.
func x86Text(xi x86asm.Inst, pc uint64, symname func(uint64) (string, uint64)) (s string) {
	defer func() {
		if recover() != nil {
			s = xi.String()
		}
	}()
	return x86asm.GoSyntax(xi, pc, symname)
}

// x86ReadOnlyDst reports ops whose first (destination-position) memory
// operand is only read.
func x86ReadOnlyDst(op x86asm.Op) bool {
	switch op {
	case x86asm.CMP, x86asm.TEST, x86asm.BT, x86asm.PUSH, x86asm.CALL, x86asm.JMP,
		x86asm.UCOMISD, x86asm.UCOMISS, x86asm.COMISD, x86asm.COMISS:
		return true
	}
	return false
}

// x86NoAccess reports ops with a memory operand they never access.
func x86NoAccess(op x86asm.Op) bool {
	switch op {
	case x86asm.NOP, x86asm.LEA, x86asm.PREFETCHT0, x86asm.PREFETCHT1,
		x86asm.PREFETCHT2, x86asm.PREFETCHNTA, x86asm.PREFETCHW:
		return true
	}
	return false
}

func classifyX86(in *Inst, xi x86asm.Inst, raw []byte) {
	for _, p := range xi.Prefix {
		if p == 0 {
			break
		}
		if p&0xff == x86asm.PrefixLOCK {
			in.Locked = true
		}
	}
	switch xi.Op {
	case x86asm.CALL, x86asm.LCALL:
		in.Call = true
	case x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
		in.CondJump = true
	default:
		name := xi.Op.String()
		in.CondJump = len(name) >= 2 && name[0] == 'J' && name != "JMP" && !strings.HasPrefix(name, "JMP")
	}
	branch := in.Call || in.CondJump || xi.Op == x86asm.JMP || xi.Op == x86asm.LJMP
	if branch {
		switch a := xi.Args[0].(type) {
		case x86asm.Rel:
			in.Target = in.Next() + uint64(int64(a))
		case x86asm.Reg, x86asm.Mem:
			in.Indirect = true
		}
	}
	in.Emulated = x86Emulated(raw)
	for i, a := range xi.Args {
		m, ok := a.(x86asm.Mem)
		if !ok || m.Base != x86asm.RIP || m.Index != 0 {
			continue
		}
		in.MemRef = in.Next() + uint64(m.Disp)
		switch {
		case xi.Op == x86asm.LEA:
			in.LoadAddr = true
		case x86NoAccess(xi.Op):
		case i > 0 || x86ReadOnlyDst(xi.Op):
			in.Load = true
		case strings.HasPrefix(xi.Op.String(), "MOV") || strings.HasPrefix(xi.Op.String(), "SET"):
			in.Store = true
		default: // read-modify-write: ADD, OR, XADD, CMPXCHG, XCHG, ...
			in.Load, in.Store = true, true
		}
		if in.Load || in.Store {
			in.MemSize = xi.MemBytes
		}
		break
	}
}

// x86Emulated mirrors arch_uprobe_analyze_insn in arch/x86/kernel/uprobes.c:
// branch_setup_xol_ops emulates CALL rel32 (e8), JMP rel (eb, e9), Jcc rel8
// (70-7f) and rel32 (0f 80-8f), and NOP (0x66* 90), rejecting branches with a
// 0x66 prefix; push_setup_xol_ops emulates PUSH reg (50-57, optionally with
// REX 0x41). Everything else is single-stepped out of line.
func x86Emulated(raw []byte) bool {
	i, only66, has66 := 0, true, false
	for i < len(raw) && isX86Prefix(raw[i]) {
		has66 = has66 || raw[i] == 0x66
		only66 = only66 && raw[i] == 0x66
		i++
	}
	rex := byte(0)
	if i < len(raw) && raw[i] >= 0x40 && raw[i] <= 0x4f {
		rex = raw[i]
		i++
	}
	if i >= len(raw) {
		return false
	}
	op := raw[i:]
	switch {
	case op[0] == 0x90 && len(op) == 1:
		return only66 && rex == 0
	case op[0] >= 0x50 && op[0] <= 0x57:
		return len(op) == 1 && i == 0 || (i == 1 && rex == 0x41 && len(op) == 1)
	case has66:
		return false
	case op[0] == 0xe8, op[0] == 0xe9, op[0] == 0xeb, op[0] >= 0x70 && op[0] <= 0x7f:
		return true
	case op[0] == 0x0f && len(op) > 1 && op[1] >= 0x80 && op[1] <= 0x8f:
		return true
	}
	return false
}

func isX86Prefix(b byte) bool {
	switch b {
	case 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67:
		return true
	}
	return false
}
