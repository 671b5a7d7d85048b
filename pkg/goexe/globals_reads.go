package goexe

// memRead is one read of a global found in decoded code.
type memRead struct {
	addr uint64
	size int
}

// globalReads lists the reads of PC-relative globals in insts, in order:
// instructions that load from a resolved PC-relative address (amd64
// RIP-relative operands; arm64 ADRP+LDR, or a load through the register an
// ADRP+ADD pair computed, as the decoder resolves them). A 16-byte load (an
// arm64 LDP of two X registers) reads addr and addr+8.
func globalReads(insts []Inst) []memRead {
	var out []memRead
	for _, in := range insts {
		if in.MemRef == 0 || !in.Load || in.Store || in.MemSize <= 0 {
			continue
		}
		if in.MemSize == 16 {
			out = append(out, memRead{in.MemRef, 8}, memRead{in.MemRef + 8, 8})
			continue
		}
		out = append(out, memRead{in.MemRef, in.MemSize})
	}
	return out
}
