package goexe

import (
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

func TestSymbolize(t *testing.T) {
	for _, v := range testutil.Matrix() {
		t.Run(v.String(), func(t *testing.T) {
			b := openTarget(t, "idle", v)
			md, ok := b.Moduledata()
			if !ok || b.ext.gofunc == nil {
				t.Fatalf("moduledata %#x, gofunc: %v", md, b.ext.gofuncErr)
			}
			if a, _, ok := b.Symbol("runtime.firstmoduledata"); ok && a != md {
				t.Errorf("moduledata %#x, .symtab %#x", md, a)
			}
			if a, _, ok := b.Symbol("go:func.*"); ok {
				if want, _ := b.ReadVA(a, 16); string(b.ext.gofunc[:16]) != string(want) {
					t.Errorf("gofunc bytes differ from go:func.* at %#x", a)
				}
			}
			goexit := b.FuncsNamed("runtime.goexit")
			if len(goexit) == 0 {
				t.Fatal("no runtime.goexit")
			}
			m, ok := b.FuncMetaAt(goexit[0].Entry + 1)
			if !ok || m.FuncID != "goexit" || !m.TopFrame {
				t.Errorf("goexit meta %+v", m)
			}
			for _, name := range []string{"runtime.gopark", "runtime.mcall", "runtime.asyncPreempt"} {
				f := b.FuncsNamed(name)
				if len(f) == 0 {
					t.Fatalf("no %s", name)
				}
				if d, ok := b.SPDelta(f[0].Entry); !ok || d != 0 {
					t.Errorf("%s: SP delta at entry %d %v", name, d, ok)
				}
				fr := b.Frames(f[0].Entry, false)
				if len(fr) != 1 || fr[0].Func != name || fr[0].File == "" || fr[0].Line == 0 || fr[0].Entry != f[0].Entry {
					t.Errorf("%s: frames %+v", name, fr)
				}
			}
			if id, ok := b.FuncIDAt(b.FuncsNamed("runtime.asyncPreempt")[0].Entry); !ok || id != "asyncPreempt" {
				t.Errorf("asyncPreempt funcID %q", id)
			}
			// Inline expansion works without .symtab: some call in
			// runtime.runFinalizers is inlined (e.g. lock).
			fn, insts, err := b.funcBody("runtime.runFinalizers")
			if err != nil {
				t.Fatal(err)
			}
			inlined, calls := 0, 0
			for _, in := range insts {
				if !in.Call {
					continue
				}
				calls++
				if !b.IsReturnAddress(in.Next()) {
					t.Errorf("call at %#x: return address not recognised", in.Addr)
				}
				fr := b.Frames(in.Next(), true)
				if len(fr) == 0 || fr[len(fr)-1].Func != "runtime.runFinalizers" || fr[len(fr)-1].Inlined {
					t.Fatalf("frames at %#x: %+v", in.Next(), fr)
				}
				if len(fr) > 1 {
					inlined++
				}
			}
			if inlined == 0 {
				t.Errorf("no inlined frames at the %d call sites of %s", calls, fn.Name)
			}
			if b.IsReturnAddress(fn.Entry + 1) {
				t.Error("entry+1 taken for a return address")
			}
		})
	}
}
