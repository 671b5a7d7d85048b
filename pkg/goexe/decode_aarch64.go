package goexe

// This file is named aarch64, not arm64: a _arm64.go suffix would be a build
// constraint, and arm64 binaries are decoded on any host.

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"sync"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64asmMu serializes arm64asm.Decode, which records coverage in an
// unguarded package-level slice (decoderCover, x/arch v0.33.0): concurrent
// decodes of different binaries (Cache) are a data race otherwise. It
// guards the library's state; goexe itself keeps none.
var arm64asmMu sync.Mutex

func arm64Decode(word []byte) (arm64asm.Inst, error) {
	arm64asmMu.Lock()
	defer arm64asmMu.Unlock()
	return arm64asm.Decode(word)
}

// decodeARM64 disassembles AArch64 code (whole 4-byte words only).
func decodeARM64(code []byte, pc uint64, symname func(uint64) (string, uint64)) []Inst {
	out := make([]Inst, 0, len(code)/4)
	for off := 0; off+4 <= len(code); off += 4 {
		addr := pc + uint64(off)
		ai, err := arm64Decode(code[off : off+4])
		if err != nil {
			w := binary.LittleEndian.Uint32(code[off:])
			out = append(out, Inst{Addr: addr, Len: 4, Op: "?", Text: fmt.Sprintf("? 0x%08x", w),
				Raw: arm64asm.Inst{Enc: w}})
			continue
		}
		in := Inst{Addr: addr, Len: 4, Op: ai.Op.String(), Raw: ai}
		in.Text = arm64Text(ai, addr, symname)
		classifyARM64(&in, ai)
		if n := len(out); n > 0 {
			pairADRP(&out[n-1], &in, ai)
		}
		out = append(out, in)
	}
	return out
}

func arm64Text(ai arm64asm.Inst, pc uint64, symname func(uint64) (string, uint64)) (s string) {
	defer func() {
		if recover() != nil {
			s = ai.String()
		}
	}()
	return arm64asm.GoSyntax(ai, pc, symname, nil)
}

// classifyARM64 fills the branch fields. Every branch, ADR and ADRP is
// simulated by the kernel (arm_probe_decode_insn); literal loads are not
// (uprobes reject them), everything else is single-stepped.
func classifyARM64(in *Inst, ai arm64asm.Inst) {
	var rel, hasRel = int64(0), false
	for _, a := range ai.Args {
		if r, ok := a.(arm64asm.PCRel); ok {
			rel, hasRel = int64(r), true
		}
	}
	switch ai.Op {
	case arm64asm.B:
		if c, ok := ai.Args[0].(arm64asm.Cond); ok {
			in.Op = "B." + c.String()
			in.CondJump = true
		}
		in.Emulated = true
	case arm64asm.BL:
		in.Call, in.Emulated = true, true
	case arm64asm.CBZ, arm64asm.CBNZ, arm64asm.TBZ, arm64asm.TBNZ:
		in.CondJump, in.Emulated = true, true
	case arm64asm.BLR:
		in.Call, in.Indirect, in.Emulated = true, true, true
	case arm64asm.BR:
		in.Indirect, in.Emulated = true, true
	case arm64asm.RET:
		in.Emulated = true
	case arm64asm.ADR:
		in.Emulated, in.LoadAddr = true, true
		in.MemRef = in.Addr + uint64(rel)
		return
	case arm64asm.ADRP:
		in.Emulated = true
		return
	case arm64asm.LDR, arm64asm.LDRSW:
		if hasRel { // literal load
			in.MemRef = in.Addr + uint64(rel)
			in.Load = true
			in.MemSize = regBytes(ai.Args[0])
			if ai.Op == arm64asm.LDRSW {
				in.MemSize = 4
			}
		}
		return
	default:
		return
	}
	if hasRel {
		in.Target = in.Addr + uint64(rel)
	}
}

// pairADRP resolves PC-relative addresses the linker splits over several
// instructions; Go's linker always emits them adjacently:
//
//	ADRP page, Rn; ADD $off, Rn, Rd        -> ADD: LoadAddr page+off
//	ADRP page, Rn; LDR/STR/LDP... off(Rn)  -> Load/Store page+off
//	ADRP; ADD ..., Rd; LDP/LDAR/STLR (Rd)  -> Load/Store at the ADD's address
func pairADRP(prev *Inst, in *Inst, ai arm64asm.Inst) {
	p, ok := prev.Raw.(arm64asm.Inst)
	if !ok {
		return
	}
	var base arm64asm.Reg
	var addr uint64
	switch {
	case p.Op == arm64asm.ADRP:
		dst, ok1 := p.Args[0].(arm64asm.Reg)
		rel, ok2 := p.Args[1].(arm64asm.PCRel)
		if !ok1 || !ok2 {
			return
		}
		base, addr = dst, prev.Addr&^0xfff+uint64(int64(rel))
		if ai.Op == arm64asm.ADD {
			src, ok := ai.Args[1].(arm64asm.RegSP)
			imm, ok2 := immShiftValue(ai.Args[2])
			if ok && ok2 && arm64asm.Reg(src) == base {
				in.MemRef, in.LoadAddr = addr+imm, true
			}
			return
		}
	case p.Op == arm64asm.ADD && prev.LoadAddr:
		dst, ok := p.Args[0].(arm64asm.RegSP)
		if !ok {
			return
		}
		base, addr = arm64asm.Reg(dst), prev.MemRef
	default:
		return
	}
	size, load, store := arm64Access(ai.Op)
	if !load && !store {
		return
	}
	for _, a := range ai.Args {
		m, ok := a.(arm64asm.MemImmediate)
		if !ok || m.Mode != arm64asm.AddrOffset || arm64asm.Reg(m.Base) != base {
			continue
		}
		off, ok := memImm(m)
		if !ok {
			return
		}
		if size == 0 {
			size = regBytes(ai.Args[0])
		}
		if ai.Op == arm64asm.LDP || ai.Op == arm64asm.STP {
			size *= 2
		}
		in.MemRef = addr + uint64(off)
		in.Load, in.Store, in.MemSize = load, store, size
		return
	}
}

// arm64Access classifies loads and stores; size 0 means "from the register"
// (for LDP/STP: of one of the two registers).
func arm64Access(op arm64asm.Op) (size int, load, store bool) {
	switch op {
	case arm64asm.LDR, arm64asm.LDUR, arm64asm.LDAR, arm64asm.LDAXR, arm64asm.LDXR, arm64asm.LDP:
		return 0, true, false
	case arm64asm.LDRB, arm64asm.LDRSB, arm64asm.LDARB, arm64asm.LDURB:
		return 1, true, false
	case arm64asm.LDRH, arm64asm.LDRSH, arm64asm.LDARH, arm64asm.LDURH:
		return 2, true, false
	case arm64asm.LDRSW:
		return 4, true, false
	case arm64asm.STR, arm64asm.STUR, arm64asm.STLR, arm64asm.STP:
		return 0, false, true
	case arm64asm.STRB, arm64asm.STLRB, arm64asm.STURB:
		return 1, false, true
	case arm64asm.STRH, arm64asm.STLRH, arm64asm.STURH:
		return 2, false, true
	}
	return 0, false, false
}

// regBytes returns the width of a general or SIMD&FP register.
func regBytes(a arm64asm.Arg) int {
	r, ok := a.(arm64asm.Reg)
	if !ok {
		return 0
	}
	switch {
	case r <= arm64asm.WZR:
		return 4
	case r <= arm64asm.XZR:
		return 8
	case r >= arm64asm.B0 && r <= arm64asm.B31:
		return 1
	case r >= arm64asm.H0 && r <= arm64asm.H31:
		return 2
	case r >= arm64asm.S0 && r <= arm64asm.S31:
		return 4
	case r >= arm64asm.D0 && r <= arm64asm.D31:
		return 8
	case r >= arm64asm.Q0 && r <= arm64asm.Q31:
		return 16
	}
	return 0
}

// memImm reads MemImmediate's (unexported, already scaled) offset.
func memImm(m arm64asm.MemImmediate) (int64, bool) {
	f := reflect.ValueOf(m).FieldByName("imm")
	if !f.IsValid() || !f.CanInt() {
		return 0, false
	}
	return f.Int(), true
}

// immShiftValue reads an ADD immediate (ImmShift with unexported fields, or Imm).
func immShiftValue(a arm64asm.Arg) (uint64, bool) {
	switch v := a.(type) {
	case arm64asm.Imm:
		return uint64(v.Imm), true
	case arm64asm.Imm64:
		return v.Imm, true
	case arm64asm.ImmShift:
		rv := reflect.ValueOf(v)
		imm, shift := rv.FieldByName("imm"), rv.FieldByName("shift")
		if !imm.IsValid() || !shift.IsValid() || shift.Uint() >= 64 {
			return 0, false
		}
		return imm.Uint() << shift.Uint(), true
	}
	return 0, false
}
