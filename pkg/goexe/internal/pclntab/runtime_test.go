package pclntab

import (
	"os"
	"runtime"
	"testing"
)

// TestAgainstRuntime expands inlining at PCs of this test binary and compares
// with the runtime's own answer (runtime.CallersFrames), the ground truth for
// the toolchain that built the test.
func TestAgainstRuntime(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := loadBinary(t, exe)
	tab := b.parse(t)
	fs, err := tab.Funcs()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary may be PIE: learn the bias from one function.
	self, ok := tab.FuncAt(uint64(funcPC(t)))
	var bias uint64
	if !ok || self.Name != "github.com/memsight/memsight/pkg/goexe/internal/pclntab.TestAgainstRuntime" {
		for _, f := range fs {
			if f.Name == "github.com/memsight/memsight/pkg/goexe/internal/pclntab.TestAgainstRuntime" {
				bias = uint64(funcPC(t)) - f.Entry
				self = f
			}
		}
	}
	if self.Name == "" {
		t.Fatal("test function not in the table")
	}
	var pcs, frames, inl int
	for _, f := range fs {
		if FuncIDName(b.minor, f.FuncID) == "wrapper" {
			continue // CallersFrames elides wrappers
		}
		step := (f.End-f.Entry)/16 + 1
		for pc := f.Entry; pc+1 < f.End; pc += step {
			got, err := tab.InlineFrames(f, pc, b.gofunc)
			if err != nil {
				t.Fatal(err)
			}
			// CallersFrames treats its PCs as return addresses and looks up pc-1.
			// It expands inlined parents only while more PCs follow: append
			// one from another function and stop there.
			sentinel := self.Entry + bias + 1
			if self.Entry == f.Entry {
				sentinel = fs[0].Entry + bias + 1
			}
			rf := runtime.CallersFrames([]uintptr{uintptr(pc + bias + 1), uintptr(sentinel)})
			var want []runtime.Frame
			for {
				fr, more := rf.Next()
				if fr.Entry != uintptr(f.Entry+bias) {
					break
				}
				want = append(want, fr)
				if !more {
					break
				}
			}
			pcs++
			if len(got) > 1 {
				inl++
			}
			if len(want) != len(got) {
				t.Errorf("%s+%#x: %d frames, runtime %d: %+v vs %+v", f.Name, pc-f.Entry, len(got), len(want), got, want)
				continue
			}
			for i := range got {
				frames++
				w, g := want[i], got[i]
				if w.Function == "" && f.Index() == 0 {
					w.Function = g.Func // the runtime's funcName returns "" for name offset 0
				}
				if w.Function != FuncNameForPrint(g.Func) || w.File != g.File || w.Line != g.Line {
					t.Errorf("%s+%#x frame %d: %s %s:%d, runtime %s %s:%d", f.Name, pc-f.Entry, i,
						FuncNameForPrint(g.Func), g.File, g.Line, w.Function, w.File, w.Line)
				}
				if !g.Inlined && w.Entry != uintptr(f.Entry+bias) {
					t.Errorf("%s: entry %#x, runtime %#x", f.Name, f.Entry+bias, w.Entry)
				}
			}
		}
	}
	if inl < 100 {
		t.Errorf("only %d pcs with inlined frames", inl)
	}
	t.Logf("%s: %d pcs, %d frames, %d pcs with inlined frames", runtime.Version(), pcs, frames, inl)
}

func funcPC(t *testing.T) uintptr {
	pc, _, _, _ := runtime.Caller(1)
	return pc
}
