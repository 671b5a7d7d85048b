package observe

import (
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/testutil"
)

// retAfterCall returns the return address of the first call in caller to
// callee: what a frame-pointer walk finds for that call.
func retAfterCall(t *testing.T, b *goexe.Binary, caller, callee string) uint64 {
	t.Helper()
	for _, fn := range b.FuncsNamed(caller) {
		insts, err := b.Decode(fn)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range insts {
			if f, ok := b.FuncAt(in.Target); in.Call && ok && f.Name == callee {
				return in.Next()
			}
		}
	}
	t.Fatalf("no call from %s to %s", caller, callee)
	return 0
}

// TestAllocTopSites symbolizes stacks as the allocation probes record them
// (the probed instruction, then return addresses, PIE bias added) from the
// allochot binary: the runtime's frames at the top are dropped so a site
// starts at main.allocHot's line, stacks that then look the same are
// merged, sites are ordered by bytes, and a stack entirely inside the
// runtime keeps its frames.
func TestAllocTopSites(t *testing.T) {
	b, err := goexe.Open(testutil.BuildTarget(t, "allochot", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const bias = 0x5555_0000_0000
	refill := b.AllocPoints().Slow[0]
	large := b.AllocPoints().Slow[2]
	inAllocHot := retAfterCall(t, b, "main.allocHot", "runtime.makeslice") + bias
	inMakeslice := retAfterCall(t, b, "runtime.makeslice", "runtime.mallocgc") + bias
	inMallocgc := retAfterCall(t, b, "runtime.mallocgc", "runtime.mallocgcLarge") + bias
	inFunc1 := retAfterCall(t, b, "main.main.func1", "main.allocHot") + bias
	inNextFree := retAfterCall(t, b, "runtime.(*mcache).nextFree", "runtime.(*mcache).refill") + bias

	a := &allocState{bin: b, bias: bias, frames: map[frameKey][]string{}}
	sites := a.topSites([]probe.AllocSite{
		{PCs: []uint64{refill.Best().Addr + bias, inMakeslice, inAllocHot, inFunc1}, Hits: 10, Bytes: 81920},
		{PCs: []uint64{large.Best().Addr + bias, inMallocgc, inMakeslice, inAllocHot, inFunc1}, Hits: 2, Bytes: 131072},
		{PCs: []uint64{refill.Best().Addr + bias, inNextFree}, Hits: 1, Bytes: 8192},
	})
	if len(sites) != 2 {
		t.Fatalf("%d sites, want 2 (the two allocHot stacks merged): %+v", len(sites), sites)
	}
	top := sites[0]
	if top.Hits != 12 || top.Bytes != 212992 || len(top.Stack) != 2 ||
		!strings.HasPrefix(top.Stack[0], "main.allocHot ") || !strings.Contains(top.Stack[0], "allochot/main.go:") ||
		!strings.HasPrefix(top.Stack[1], "main.main.func1 ") {
		t.Errorf("top site %+v, want main.allocHot < main.main.func1 with 12 hits and 212992 bytes", top)
	}
	if rt := sites[1].Stack; len(rt) != 2 || !strings.HasPrefix(rt[0], "runtime.(*mcache).refill ") ||
		!strings.HasPrefix(rt[1], "runtime.(*mcache).nextFree ") {
		t.Errorf("runtime-only site %v, want its runtime frames kept", rt)
	}
}
