package heapprof

import (
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// cycleGlobal locates runtime.mProfCycle (a mProfCycleHolder: the heap
// profile cycle << 1 | flushed), which goexe.RuntimeGlobals does not list:
// from .symtab, else by decoding (see decodeCycle). It returns the link-time
// address and where it came from.
func cycleGlobal(b *goexe.Binary) (uint64, string, error) {
	if a, _, ok := b.Symbol("runtime.mProfCycle"); ok && a != 0 {
		return a, "symtab", nil
	}
	a, err := decodeCycle(b)
	if err != nil {
		return 0, "", fmt.Errorf("locating runtime.mProfCycle: %w", err)
	}
	return a, "decode:runtime.mProf_PostSweep", nil
}

// decodeCycle: mProf_PostSweep starts with mProfCycle.read() and
// mProf_Flush with mProfCycle.setFlushed(), so the first global each
// references is mProfCycle: a 4-byte load on amd64, the address for LDARW
// on arm64. Both must agree.
func decodeCycle(b *goexe.Binary) (uint64, error) {
	a, err := firstGlobal(b, "runtime.mProf_PostSweep")
	if err != nil {
		return 0, err
	}
	f, err := firstGlobal(b, "runtime.mProf_Flush")
	if err != nil {
		return 0, err
	}
	if a != f {
		return 0, fmt.Errorf("runtime.mProf_PostSweep reads %#x first, runtime.mProf_Flush %#x", a, f)
	}
	return a, nil
}

// firstGlobal returns the first PC-relative memory reference of the named
// function when it is a 4-byte load or an address computation.
func firstGlobal(b *goexe.Binary, name string) (uint64, error) {
	fs := b.FuncsNamed(name)
	if len(fs) != 1 {
		return 0, fmt.Errorf("%s: %d functions with that name, want 1", name, len(fs))
	}
	insts, err := b.Decode(fs[0])
	if err != nil {
		return 0, fmt.Errorf("decoding %s: %w", name, err)
	}
	for _, in := range insts {
		if in.Call {
			break
		}
		if in.MemRef == 0 {
			continue
		}
		if in.LoadAddr || (in.Load && !in.Store && in.MemSize == 4) {
			return in.MemRef, nil
		}
		return 0, fmt.Errorf("%s: first global reference %q is not a 4-byte load", name, in.Text)
	}
	return 0, fmt.Errorf("%s: no global reference before the first call", name)
}
