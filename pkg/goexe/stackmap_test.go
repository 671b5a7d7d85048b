package goexe

import (
	"os"
	"runtime"
	"testing"
)

// holder keeps a pointer live across a call, so the call site's locals map
// has a pointer bit for it.
//
//go:noinline
func holder(p *[4]int, pcs []uintptr) int {
	q := &[4]int{1, 2, 3, 4} // heap: escapes into sink below
	sinkPtr = q
	n := callee(pcs)
	return n + p[0] + q[1]
}

var sinkPtr *[4]int

//go:noinline
func callee(pcs []uintptr) int { return runtime.Callers(1, pcs) }

// TestStackMapsAt reads the stack maps of this test binary at a call site
// it made itself: holder's return address into it has a locals map and an
// args map (p and pcs are pointers; ABIInternal spills them to the args
// area the caller reserves).
func TestStackMapsAt(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pcs := make([]uintptr, 8)
	n := holder(&[4]int{}, pcs)
	if n < 2 {
		t.Fatalf("runtime.Callers returned %d pcs", n)
	}
	ret := uint64(pcs[1]) // callee's return address into holder
	f, ok := b.FuncAt(ret)
	if !ok || f.Name != "github.com/memsight/memsight/pkg/goexe.holder" {
		t.Fatalf("pc %#x is in %q, want holder", ret, f.Name)
	}
	m, err := b.StackMapsAt(ret)
	if err != nil {
		t.Fatal(err)
	}
	if !m.ArgsKnown || m.ArgBytes != 32 {
		t.Errorf("holder args: %d bytes (known %v), want 32 (p, pcs)", m.ArgBytes, m.ArgsKnown)
	}
	// p is used after the call, pcs is not: only word 0 is a live pointer.
	if !m.HasArgs || m.Args.N < 1 || !m.Args.Ptr(0) || m.Args.Ptr(1) {
		t.Errorf("holder args map %+v (has %v), want only p (word 0) live", m.Args, m.HasArgs)
	}
	if !m.HasLocals {
		t.Errorf("holder has no locals map")
	}
	// At the entry the entry map (index 0) is used, no PCDATA lookup.
	if _, err := b.StackMapsAt(f.Entry); err != nil {
		t.Errorf("entry maps: %v", err)
	}
	if _, err := b.StackMapsAt(1); err == nil {
		t.Errorf("pc 1: no error")
	}
}
