package probe

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// The progrun tests run the uprobes' bodies with BPF_PROG_TEST_RUN, through
// the raw tracepoint wrappers of bpf/tests/memsight_test.bpf.c (the shipped
// unit plus test_<name> programs), on registers and cookies the test makes
// up, and check the shipped maps. The bodies run on the test's thread: its
// tgid is the watched process, and the g, stack and funcval addresses they
// read point into the test's own memory (see fakeMem).

// regs are the registers a probe body reads (progrun_{x86,arm64}_test.go
// put them where each architecture has them).
type regs struct {
	args [4]uint64 // Go ABI argument registers 1-4
	ctxt uint64    // closure context (DX, R26)
	g    uint64    // current g (R14, R28)
	ip   uint64    // the probed instruction
	sp   uint64
	fp   uint64 // frame pointer
	lr   uint64 // arm64's link register: the return address into the caller
}

// progRun is the test object, loaded.
type progRun struct {
	t    *testing.T
	objs bpftestObjects
	pid  uint32
}

// loadProgRun loads the test object and watches this process in it. It
// fails (never skips) when BPF cannot be loaded, unless MEMSIGHT_SKIP_BPF=1.
func loadProgRun(t *testing.T) *progRun {
	t.Helper()
	testutil.RequireBPF(t)
	r := &progRun{t: t, pid: uint32(os.Getpid())}
	if err := loadBpftestObjects(&r.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("loading the test object: %+v", ve)
		}
		t.Fatalf("loading the test object: %v", err)
	}
	t.Cleanup(func() {
		if err := r.objs.Close(); err != nil {
			t.Errorf("closing the test object: %v", err)
		}
	})
	if err := r.objs.Watched.Put(r.pid, uint8(1)); err != nil {
		t.Fatal(err)
	}
	return r
}

// config writes binconfigs[idx].
func (r *progRun) config(idx uint32, c bpftestBinconfig) {
	r.t.Helper()
	c.Flags = uint32(memsightBinconfigFlagCFG_VALID)
	if err := r.objs.Binconfigs.Put(idx, &c); err != nil {
		r.t.Fatalf("writing binconfigs[%d]: %v", idx, err)
	}
}

// hit runs prog (a test_<name> wrapper) on the registers and cookie.
func (r *progRun) hit(prog *ebpf.Program, rg regs, cookie uint64) {
	r.t.Helper()
	in := bpftestInput{Cookie: cookie}
	setRegs(&in, rg)
	if err := r.objs.TestInput.Put(uint32(0), &in); err != nil {
		r.t.Fatalf("writing test_input: %v", err)
	}
	ret, err := prog.Run(&ebpf.RunOptions{})
	if err != nil {
		r.t.Fatalf("running %v: %v", prog, err)
	}
	if ret != 0 {
		r.t.Fatalf("%v returned %d", prog, int32(ret))
	}
}

// state reads this process's proc_state (zero when it has none).
func (r *progRun) state() bpftestProcState {
	r.t.Helper()
	var s bpftestProcState
	if err := r.objs.Procs.Lookup(r.pid, &s); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		r.t.Fatalf("reading procs: %v", err)
	}
	return s
}

// fakeMem is memory of the test process that probe bodies read as a target's:
// a g, a stack, a funcval. Go's heap does not move, and the memory stays
// alive as long as the test references the fakeMem.
type fakeMem struct{ words []uint64 }

func newFakeMem(words int) *fakeMem { return &fakeMem{words: make([]uint64, words)} }

// addr is the address of byte offset off.
func (m *fakeMem) addr(off int) uint64 {
	return uint64(uintptr(unsafe.Pointer(&m.words[0]))) + uint64(off)
}

// set stores v at byte offset off (a multiple of 8).
func (m *fakeMem) set(off int, v uint64) { m.words[off/8] = v }

// funcs is a FuncTable of made-up functions.
type funcs []goexe.Func

func (fs funcs) FuncAt(pc uint64) (goexe.Func, bool) {
	for _, f := range fs {
		if pc >= f.Entry && pc < f.End {
			return f, true
		}
	}
	return goexe.Func{}, false
}

// onOneCPU runs f on this goroutine's thread pinned to one CPU (the
// per-CPU maps then have one slot for the test) and returns the CPU.
func onOneCPU(t *testing.T, f func(cpu int)) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 0; i < 1024 && cpu < 0; i++ {
		if old.IsSet(i) {
			cpu = i
		}
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.SchedSetaffinity(0, &old); err != nil {
			t.Errorf("restoring the CPU affinity: %v", err)
		}
	}()
	f(cpu)
}

// TestProgCookie packs cookies as Attach and AttachAlloc do and checks that
// the kernel side decodes the same fields.
func TestProgCookie(t *testing.T) {
	r := loadProgRun(t)
	const f, g = 0x401000, 0x300000 // a function of 4 GiB - 1 and one of 64 bytes
	fn := funcs{{Name: "f", Entry: f, End: f + 1<<32 - 1}, {Name: "g", Entry: g, End: g + 0x40}}
	decode := func(cookie uint64) bpftestCookieFields {
		t.Helper()
		r.hit(r.objs.TestCookie, regs{}, cookie)
		var out bpftestCookieFields
		if err := r.objs.TestCookieOut.Lookup(uint32(0), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		index        uint32
		fn           FuncTable
		entry, probe uint64
		delta, size  uint64 // what the kernel side must see
	}{
		{1, fn, f, f + 0x10, 0x10, 1<<32 - 1},
		{uint32(maxBinconfigs - 1), fn, f, f + 0xffff, 0xffff, 1<<32 - 1},
		{7, fn, g, g + 0x3f, 0x3f, 0x40},
		{7, nil, f, f + 0x10, 0, 0},    // no function table: no bounds
		{7, fn, f, f + 0x10000, 0, 0},  // offset too large for its field
		{7, fn, g, g + 0x40, 0, 0},     // outside the function
		{7, fn, g + 8, g + 0x10, 0, 0}, // not the function's entry
	} {
		cookie := cookieWithIndex(funcCookie(c.fn, c.entry, c.probe), c.index)
		got := decode(cookie)
		if got.Index != c.index || got.EntryDelta != c.delta || got.FuncSize != c.size {
			t.Errorf("entry cookie %#x (index %d, delta %#x, size %#x): kernel decodes index %d, delta %#x, size %#x",
				cookie, c.index, c.delta, c.size, got.Index, got.EntryDelta, got.FuncSize)
		}
	}
	for _, c := range []struct {
		index        uint32
		size         goexe.AllocSize
		mode         memsightAllocSizeMode
		entry, probe uint64
		delta, fsize uint64
	}{
		{0, goexe.SizeArg1, memsightAllocSizeModeALLOC_SIZE_ARG1, f, f + 0x12, 0x12, 1<<32 - 1},
		{uint32(maxAllocSlots - 1), goexe.SizeArg2, memsightAllocSizeModeALLOC_SIZE_ARG2, f, f + 0xff, 0xff, 1<<32 - 1},
		{3, goexe.SizePagesArg2, memsightAllocSizeModeALLOC_SIZE_PAGES_ARG2, f, f + 0x100, 0, 0}, // offset too large: no bounds
		{5, goexe.SizeSpanArg2, memsightAllocSizeModeALLOC_SIZE_SPAN_ARG2, g, g + 4, 4, 0x40},
	} {
		ap := goexe.AllocProbe{Size: c.size, FuncProbe: goexe.FuncProbe{
			Entry: goexe.Point{Addr: c.entry}, Cheap: &goexe.Point{Addr: c.probe},
		}}
		packed, err := allocCookie(fn, ap)
		if err != nil {
			t.Fatal(err)
		}
		cookie := cookieWithIndex(packed, c.index)
		got := decode(cookie)
		if got.Index != c.index || got.AllocMode != uint32(c.mode) || got.AllocDelta != c.delta || got.FuncSize != c.fsize {
			t.Errorf("alloc cookie %#x (slot %d, mode %d, delta %#x, size %#x): kernel decodes slot %d, mode %d, delta %#x, size %#x",
				cookie, c.index, c.mode, c.delta, c.fsize, got.Index, got.AllocMode, got.AllocDelta, got.FuncSize)
		}
	}
}
