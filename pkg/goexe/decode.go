package goexe

import "fmt"

// Inst is one decoded machine instruction.
//
// Op is the decoder's bare mnemonic, upper-case: on amd64 the x86asm (Intel)
// opcode name ("CALL", "JBE", "LEA", "MOV", "CMP", "OR", "XORPS"; prefixes
// are not part of it, see Locked); on arm64 the arm64asm name ("BL", "BLR",
// "ADRP", "LDR", "CMP", ...) except that conditional branches carry their
// condition, "B.LS", "B.NE". Bytes the decoder does not know become Op "?"
// with Len 1 (amd64, Raw nil) or 4 (arm64, Raw an arm64asm.Inst holding only
// Enc). arm64asm does not know the LSE atomics (LDADDAL, SWPAL, CASAL...)
// the Go runtime uses, so "?" is common in arm64 runtime code.
//
// Load, Store, LoadAddr and MemSize describe the PC-relative memory operand
// resolved into MemRef and are only set when MemRef != 0. On arm64 the
// address is split over adjacent instructions (ADRP+ADD, ADRP+LDR/STR, and
// ADRP+ADD followed by LDP/LDAR/STLR through the ADD's result): the
// instruction that completes it carries MemRef; an LDP/STP's MemSize covers
// both registers.
type Inst struct {
	Addr uint64 // link-time address
	Len  int    // length in bytes
	Op   string
	// Text is Go assembler syntax (as printed by go tool objdump), for humans.
	Text string
	// Call reports a call, direct or indirect (CALL, BL, BLR).
	Call bool
	// Target is the destination of a direct (PC-relative) call or branch, else 0.
	Target uint64
	// Indirect reports a call or jump through a register or memory.
	Indirect bool
	// CondJump reports a conditional branch (Jcc; B.cond, CBZ, CBNZ, TBZ, TBNZ).
	CondJump bool
	// Emulated reports that a uprobe on this instruction is emulated by the
	// kernel instead of single-stepped out of line (about 1 µs instead of 6 µs
	// a hit on the test VM). amd64 (arch/x86/kernel/uprobes.c): CALL rel32,
	// JMP rel8/rel32, Jcc rel8/rel32 (without a 0x66 prefix), NOP 0x90, and
	// PUSH reg. arm64 (arch/arm64/kernel/probes/decode-insn.c): B, BL, B.cond,
	// CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET, ADR, ADRP.
	Emulated bool
	// MemRef is the absolute address of a PC-relative memory operand (amd64
	// RIP-relative: next pc + displacement; arm64: the second instruction of an
	// ADRP pair, ADR, or a literal load), else 0.
	MemRef   uint64
	MemSize  int  // bytes accessed at MemRef (loads and stores), 0 if n/a
	Store    bool // writes memory at MemRef
	Load     bool // reads memory at MemRef
	LoadAddr bool // computes MemRef without accessing it (LEA, ADRP+ADD, ADR)
	Locked   bool // amd64 LOCK prefix
	// Raw is the decoder's instruction: x86asm.Inst or arm64asm.Inst.
	Raw any
}

// Unknown reports whether the decoder did not recognise the bytes.
func (i Inst) Unknown() bool { return i.Op == "?" }

// Next returns the address of the following instruction.
func (i Inst) Next() uint64 { return i.Addr + uint64(i.Len) }

// Decode disassembles a whole function body, [fn.Entry, fn.End), up to 64 KiB.
func (b *Binary) Decode(fn Func) ([]Inst, error) {
	if fn.End <= fn.Entry || fn.End-fn.Entry > maxFuncDecode {
		return nil, fmt.Errorf("decoding %s: size %d outside (0, %d]", fn.Name, int64(fn.End-fn.Entry), maxFuncDecode)
	}
	code, err := b.ReadVA(fn.Entry, int(fn.End-fn.Entry))
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", fn.Name, err)
	}
	return decode(b.Arch, code, fn.Entry, b.symname), nil
}

// symname names addresses in Inst.Text.
func (b *Binary) symname(addr uint64) (string, uint64) {
	if f, ok := b.FuncAt(addr); ok {
		return f.Name, f.Entry
	}
	return "", 0
}

// decode disassembles code at link-time address pc for arch. It never fails:
// unknown bytes become Op "?" instructions. symname may be nil.
func decode(arch Arch, code []byte, pc uint64, symname func(uint64) (string, uint64)) []Inst {
	if symname == nil {
		symname = func(uint64) (string, uint64) { return "", 0 }
	}
	if arch == ARM64 {
		return decodeARM64(code, pc, symname)
	}
	return decodeX86(code, pc, symname)
}
