package probe

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/goexe"
)

// TestProgAllocNested drives the allocation probe's body (bpf/alloc.bpf.c):
// the stack it records from made-up registers and frames, the byte count of
// each size mode, and the nested-call check: a hit inside the last recorded
// call on this CPU (same thread, that call's return address above a return
// address into its function) counts as nested and records nothing.
func TestProgAllocNested(t *testing.T) {
	r := loadProgRun(t)
	const (
		funcA, sizeA = 0x410000, 0x200 // the outer probed function (mallocgcLarge, say)
		funcB, sizeB = 0x420000, 0x100 // the inner one (mheap.alloc), called by A
		retC, retD   = 0x430010, 0x440020
		retE         = 0x450030
		retA         = funcA + 0x50 // B's return address into A
		slotA, slotB = 3, 4
	)
	fn := funcs{{Name: "A", Entry: funcA, End: funcA + sizeA}, {Name: "B", Entry: funcB, End: funcB + sizeB}}
	cookie := func(funcs FuncTable, entry, probe uint64, size goexe.AllocSize, slot uint32) uint64 {
		t.Helper()
		c, err := allocCookie(funcs, goexe.AllocProbe{Size: size, FuncProbe: goexe.FuncProbe{
			Entry: goexe.Point{Addr: entry}, Cheap: &goexe.Point{Addr: probe},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return cookieWithIndex(c, slot)
	}
	cookieA := cookie(fn, funcA, funcA+8, goexe.SizeArg1, slotA)
	cookieB := cookie(fn, funcB, funcB+4, goexe.SizePagesArg2, slotB)

	// The stacks: C called A (or B via A), D called C, E called D. Frames
	// are [saved frame pointer, return address], the chain ends at a zero.
	mem := newFakeMem(64)
	const spA, spB, frameA, frameC, frameD = 0x00, 0x40, 0x80, 0x100, 0x180
	mem.set(spA, retC)
	mem.set(spB, retA)
	mem.set(frameA, mem.addr(frameC))
	mem.set(frameA+8, retC)
	mem.set(frameC, mem.addr(frameD))
	mem.set(frameC+8, retD)
	mem.set(frameD, 0)
	mem.set(frameD+8, retE)
	hitA := regs{args: [4]uint64{100}, ip: funcA + 8, sp: mem.addr(spA), fp: mem.addr(frameC), lr: retC}
	hitB := regs{args: [4]uint64{0, 3}, ip: funcB + 4, sp: mem.addr(spB), fp: mem.addr(frameA), lr: retA}
	stackA := []uint64{funcA + 8, retC, retD, retE}
	stackB := []uint64{funcB + 4, retA, retC, retD, retE}

	onOneCPU(t, func(cpu int) {
		tid := uint32(unix.Gettid())
		r.hit(r.objs.TestAllocProbe, hitA, cookieA)
		r.wantSite(stackA, 1, 100)
		last := r.allocLast(cpu)
		if want := (bpftestAllocCall{Tid: tid, Ret: retC, FuncLo: funcA, FuncHi: funcA + sizeA}); last != want {
			t.Errorf("alloc_last after A's hit: %+v, want %+v", last, want)
		}

		r.hit(r.objs.TestAllocProbe, hitB, cookieB)
		r.wantCounters(1, 0)
		r.wantSite(stackB, 0, 0)

		r.hit(r.objs.TestAllocProbe, hitA, cookieA)
		r.wantSite(stackA, 2, 200)

		// The same stack, but its return address into A lies outside A:
		// another call, recorded (3 pages of 8 KiB).
		mem.set(spB, funcA+sizeA+0x10)
		hitB.lr = funcA + sizeA + 0x10
		r.hit(r.objs.TestAllocProbe, hitB, cookieB)
		stackB[1] = funcA + sizeA + 0x10
		r.wantSite(stackB, 1, 3*goexe.PageSize)
		r.wantCounters(1, 0)

		// Without A's bounds only the return address into C counts.
		r.hit(r.objs.TestAllocProbe, hitA, cookie(nil, funcA, funcA+8, goexe.SizeArg1, slotA))
		if last := r.allocLast(cpu); last.FuncHi != 0 {
			t.Errorf("alloc_last without bounds: %+v", last)
		}
		r.hit(r.objs.TestAllocProbe, hitB, cookieB)
		r.wantCounters(2, 0)
		r.wantSite(stackB, 1, 3*goexe.PageSize)

		// Another thread's last call: not nested.
		r.setAllocLast(bpftestAllocCall{Tid: tid + 1, Ret: retC, FuncLo: funcA, FuncHi: funcA + sizeA})
		r.hit(r.objs.TestAllocProbe, hitB, cookieB)
		r.wantCounters(2, 0)
		r.wantSite(stackB, 2, 6*goexe.PageSize)
	})

	// A span of the size class in argument 2 (spanClass = class<<1 | noscan).
	if err := r.objs.AllocSpanBytes.Put(uint32(5), uint32(16384)); err != nil {
		t.Fatal(err)
	}
	r.setAllocLast(bpftestAllocCall{})
	span := hitA
	span.args = [4]uint64{0, 5<<1 | 1}
	span.ip = funcA + 12
	r.hit(r.objs.TestAllocProbe, span, cookie(fn, funcA, funcA+12, goexe.SizeSpanArg2, slotA))
	r.wantSite([]uint64{funcA + 12, retC, retD, retE}, 1, 16384)

	// An unreadable return address into the caller: no stack.
	bad := hitA
	bad.sp, bad.lr = 0x10, 0
	r.hit(r.objs.TestAllocProbe, bad, cookieA)
	r.wantCounters(2, 1)

	// Every hit counts in its probe's alloc_hits slot, watched or not.
	if err := r.objs.Watched.Delete(r.pid); err != nil {
		t.Fatal(err)
	}
	r.hit(r.objs.TestAllocProbe, hitA, cookieA)
	r.wantSite(stackA, 3, 300) // two hits above and the one without bounds
	if a, b := r.allocHits(slotA), r.allocHits(slotB); a != 6 || b != 4 {
		t.Errorf("alloc_hits: A %d, B %d; want 6, 4", a, b)
	}
}

// wantSite checks this process's alloc_sites entry for a stack (innermost
// first): hits 0 means none.
func (r *progRun) wantSite(stack []uint64, hits, bytes uint64) {
	r.t.Helper()
	key := bpftestAllocSite{Tgid: r.pid}
	copy(key.Pcs[:], stack)
	var st bpftestAllocStat
	err := r.objs.AllocSites.Lookup(&key, &st)
	switch {
	case hits == 0 && err == nil:
		r.t.Errorf("alloc_sites has stack %#x: %+v, want none", stack, st)
	case hits != 0 && err != nil:
		r.t.Errorf("alloc_sites: stack %#x: %v", stack, err)
	case hits != 0 && (st.Hits != hits || st.Bytes != bytes):
		r.t.Errorf("alloc_sites: stack %#x has %d hits, %d bytes; want %d, %d", stack, st.Hits, st.Bytes, hits, bytes)
	}
}

// wantCounters checks alloc_counters, summed over CPUs.
func (r *progRun) wantCounters(nested, stackErr uint64) {
	r.t.Helper()
	sum := func(idx memsightAllocCounter) uint64 {
		var per []uint64
		if err := r.objs.AllocCounters.Lookup(uint32(idx), &per); err != nil {
			r.t.Fatal(err)
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		return n
	}
	n, e := sum(memsightAllocCounterALLOC_CNT_NESTED), sum(memsightAllocCounterALLOC_CNT_STACK_ERR)
	if n != nested || e != stackErr {
		r.t.Errorf("alloc_counters: %d nested, %d stack errors; want %d, %d", n, e, nested, stackErr)
	}
}

func (r *progRun) allocLast(cpu int) bpftestAllocCall {
	r.t.Helper()
	var per []bpftestAllocCall
	if err := r.objs.AllocLast.Lookup(uint32(0), &per); err != nil {
		r.t.Fatal(err)
	}
	return per[cpu]
}

// setAllocLast sets the last recorded call of every CPU.
func (r *progRun) setAllocLast(c bpftestAllocCall) {
	r.t.Helper()
	per := make([]bpftestAllocCall, ebpfCPUs())
	for i := range per {
		per[i] = c
	}
	if err := r.objs.AllocLast.Put(uint32(0), per); err != nil {
		r.t.Fatal(err)
	}
}

func (r *progRun) allocHits(slot uint32) uint64 {
	r.t.Helper()
	var per []uint64
	if err := r.objs.AllocHits.Lookup(slot, &per); err != nil {
		r.t.Fatal(err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n
}
