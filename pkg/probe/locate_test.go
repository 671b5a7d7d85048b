package probe

import (
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/memsight/memsight/pkg/goexe"
)

// selfTarget describes the running test binary for Attach with a test-only
// locator (ELF .symtab + x86asm), so the BPF programs are tested on their own,
// independently of goexe. It needs an unstripped amd64 test binary, which is
// what `go test` builds.
func selfTarget(t *testing.T) Target {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Fatalf("the self-probing tests decode amd64 code; running on %s", runtime.GOARCH)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// go test links without .symtab and DWARF: use .gopclntab.
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		t.Fatalf("%s has no .gopclntab or .text", exe)
	}
	data, err := pcln.Data()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		t.Fatalf("reading pclntab of %s: %v", exe, err)
	}
	l := &selfLocator{f: f, funcs: make(map[string][]gosym.Func)}
	for _, fn := range tab.Funcs {
		l.funcs[fn.Name] = append(l.funcs[fn.Name], fn)
	}
	var pts goexe.ProbePoints
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("locating probe points in %s: %v", exe, err)
		}
	}
	var err1 error
	pts.QueueFinalizer, err1 = l.entry("runtime.queuefinalizer")
	must(err1)
	pts.SetFinalizer, err1 = l.entry("runtime.SetFinalizer")
	must(err1)
	pts.CleanupEnqueue, err1 = l.entry("runtime.(*cleanupQueue).enqueue")
	must(err1)
	pts.GCStartCycle, err1 = l.entry("runtime.(*gcControllerState).startCycle")
	must(err1)
	pts.STWStop, err1 = l.entry("runtime.stopTheWorldWithSema")
	must(err1)
	pts.STWStart, err1 = l.entry("runtime.startTheWorldWithSema")
	must(err1)
	// pclntab has two runtime.reflectcall: the ABI0 body and its wrapper.
	pts.FinalizerCall, err1 = l.call("runtime.runFinalizers", func(in x86asm.Inst, pc uint64) bool {
		rel, ok := in.Args[0].(x86asm.Rel)
		if !ok {
			return false
		}
		for _, fn := range l.funcs["runtime.reflectcall"] {
			if pc+uint64(in.Len)+uint64(int64(rel)) == fn.Entry {
				return true
			}
		}
		return false
	})
	must(err1)
	pts.CleanupCall, err1 = l.call("runtime.runCleanups", func(in x86asm.Inst, _ uint64) bool {
		_, ok := in.Args[0].(x86asm.Reg)
		return ok
	})
	must(err1)
	return Target{
		Trace:         Trace{Finalizers: true, GC: true}, // everything these tests check
		Funcs:         l,
		ExePath:       exe,
		PID:           os.Getpid(),
		Points:        pts,
		GoMinor:       goMinor(t, runtime.Version()),
		Arch:          goexe.Arch(runtime.GOARCH),
		GoidOffset:    goidOffset(t, f, exe),
		SchedPCOffset: layoutOffset(t, exe, "runtime.g.sched.pc"),
	}
}

type selfLocator struct {
	f     *elf.File
	funcs map[string][]gosym.Func
}

type selfFunc struct{ Value, Size uint64 }

// FuncAt implements FuncTable.
func (l *selfLocator) FuncAt(pc uint64) (goexe.Func, bool) {
	for _, fns := range l.funcs {
		for _, fn := range fns {
			if fn.Entry <= pc && pc < fn.End {
				return goexe.Func{Name: fn.Name, Entry: fn.Entry, End: fn.End}, true
			}
		}
	}
	return goexe.Func{}, false
}

func (l *selfLocator) code(name string) (selfFunc, []byte, error) {
	fns := l.funcs[name]
	if len(fns) != 1 {
		return selfFunc{}, nil, fmt.Errorf("%d functions named %s", len(fns), name)
	}
	s := selfFunc{fns[0].Entry, fns[0].End - fns[0].Entry}
	for _, p := range l.f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr <= s.Value && s.Value+s.Size <= p.Vaddr+p.Filesz {
			b := make([]byte, s.Size)
			_, err := p.ReadAt(b, int64(s.Value-p.Vaddr))
			return s, b, err
		}
	}
	return s, nil, fmt.Errorf("function %s not in a PT_LOAD segment", name)
}

func (l *selfLocator) point(fn string, addr uint64, in x86asm.Inst) goexe.Point {
	for _, p := range l.f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr <= addr && addr < p.Vaddr+p.Filesz {
			return goexe.Point{Func: fn, Addr: addr, Offset: addr - p.Vaddr + p.Off, Inst: in.String()}
		}
	}
	return goexe.Point{}
}

// entry returns the function's entry and, when it starts with the stack
// check, the conditional jump after it as the cheap point.
func (l *selfLocator) entry(name string) (*goexe.FuncProbe, error) {
	s, code, err := l.code(name)
	if err != nil {
		return nil, err
	}
	first, err := x86asm.Decode(code, 64)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", name, err)
	}
	fp := &goexe.FuncProbe{Entry: l.point(name, s.Value, first)}
	if second, err := x86asm.Decode(code[first.Len:], 64); err == nil && first.Op == x86asm.CMP && second.Op == x86asm.JBE {
		p := l.point(name, s.Value+uint64(first.Len), second)
		p.Emulated = true
		fp.Cheap = &p
	}
	return fp, nil
}

// call returns the first CALL in fn that match accepts, and the instruction after it.
func (l *selfLocator) call(fn string, match func(in x86asm.Inst, pc uint64) bool) (*goexe.CallSite, error) {
	s, code, err := l.code(fn)
	if err != nil {
		return nil, err
	}
	for off := 0; off < len(code); {
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			off++
			continue
		}
		pc := s.Value + uint64(off)
		if in.Op == x86asm.CALL && match(in, pc) {
			next, err := x86asm.Decode(code[off+in.Len:], 64)
			if err != nil {
				return nil, fmt.Errorf("decoding after the call in %s: %w", fn, err)
			}
			return &goexe.CallSite{Call: l.point(fn, pc, in), Resume: l.point(fn, pc+uint64(in.Len), next)}, nil
		}
		off += in.Len
	}
	return nil, fmt.Errorf("no matching CALL in %s", fn)
}

// goidOffset returns the offset of runtime.g.goid: from DWARF when the
// binary has it (go test links without), else from goexe's layout.
func goidOffset(t *testing.T, f *elf.File, exe string) int64 {
	t.Helper()
	if off, ok := dwarfGoidOffset(f); ok {
		return off
	}
	return layoutOffset(t, exe, "runtime.g.goid")
}

// layoutOffset returns the offset of a runtime struct field (goexe's name,
// "runtime.g.sched.pc") from goexe's layout of exe, -1 when unknown.
func layoutOffset(t *testing.T, exe, field string) int64 {
	t.Helper()
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatalf("inspecting %s: %v", exe, err)
	}
	defer b.Close()
	off, ok := b.Layout.Off(field)
	if !ok {
		t.Logf("%s offset unknown (goexe layout %q)", field, b.Layout.Source)
		return -1
	}
	return off
}

// dwarfGoidOffset reads the offset of runtime.g.goid from the binary's DWARF.
func dwarfGoidOffset(f *elf.File) (int64, bool) {
	d, err := f.DWARF()
	if err != nil {
		return 0, false
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return 0, false
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != "runtime.g" {
			r.SkipChildren()
			continue
		}
		for {
			m, err := r.Next()
			if err != nil || m == nil || m.Tag == 0 {
				return 0, false
			}
			if m.Val(dwarf.AttrName) == "goid" {
				off, ok := m.Val(dwarf.AttrDataMemberLoc).(int64)
				return off, ok
			}
		}
	}
}

func goMinor(t *testing.T, v string) int {
	t.Helper()
	var major, minor int
	if _, err := fmt.Sscanf(v, "go%d.%d", &major, &minor); err != nil || major != 1 {
		t.Fatalf("parsing Go version %q: %v", v, err)
	}
	return minor
}
