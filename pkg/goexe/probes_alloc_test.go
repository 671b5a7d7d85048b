package goexe

import (
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestAllocPoints locates the allocation probes in the allochot target:
// every slow path and every mallocgc variant has a cheap, emulated point,
// and the functions the target's own code calls to allocate are covered
// (on Go 1.27 a direct call of a size-specialized mallocgc*SC* function).
func TestAllocPoints(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			b := openTarget(t, "allochot", v)
			ap := b.AllocPoints()
			if len(ap.Missing) != 0 {
				t.Errorf("missing: %v", ap.Missing)
			}
			want := []string{"runtime.(*mcache).refill", "runtime.(*mheap).alloc", "runtime.mallocgcLarge"}
			if len(ap.Slow) != len(want) {
				t.Fatalf("slow probes %v, want %v", names(ap.Slow), want)
			}
			for i, p := range ap.Slow {
				if p.Name() != want[i] {
					t.Errorf("slow probe %d is %s, want %s", i, p.Name(), want[i])
				}
			}
			malloc := map[string]bool{}
			for _, p := range append(append([]AllocProbe(nil), ap.Slow...), ap.Malloc...) {
				if p.Cheap == nil || !p.Cheap.Emulated || p.Cheap.Addr <= p.Entry.Addr || p.Cheap.Addr-p.Entry.Addr > 16 {
					t.Errorf("%s: cheap point %+v", p.Name(), p.Cheap)
				}
				if p.Kind == AllocObject {
					malloc[p.Name()] = true
				}
			}
			if malloc["runtime.mallocgc"] {
				t.Errorf("%s: runtime.mallocgc probed (it only dispatches from go1.24)", v)
			}
			for _, n := range []string{"runtime.mallocgcSmallNoscan", "runtime.mallocgcSmallScanNoHeader", "runtime.mallocgcSmallScanHeader"} {
				if !malloc[n] {
					t.Errorf("%s: %s not in the mallocgc family %v", v, n, names(ap.Malloc))
				}
			}
			sc := 0
			for n := range malloc {
				if strings.Contains(n, "SC") {
					sc++
				}
			}
			if v.Toolchain == testutil.GoNext {
				// 7 scan, 6 noscan, 1 tiny, 3 slow paths.
				if sc != 14 || !malloc["runtime.mallocgcTinySC2"] || !malloc["runtime.mallocgcSmallNoScanSlowPath"] {
					t.Errorf("go1.27: %d size-specialized functions in %v", sc, names(ap.Malloc))
				}
			} else if sc != 0 || !malloc["runtime.mallocgcTiny"] {
				t.Errorf("go1.26: mallocgc family %v", names(ap.Malloc))
			}
			// Every allocation function the target's code calls is probed.
			for _, caller := range []string{"main.allocSmall", "main.allocHot"} {
				fn, insts, err := b.funcBody(caller)
				if err != nil {
					t.Fatal(err)
				}
				for _, in := range insts {
					callee, ok := b.FuncAt(in.Target)
					if !in.Call || !ok || !strings.HasPrefix(callee.Name, "runtime.mallocgc") {
						continue
					}
					if !malloc[callee.Name] {
						t.Errorf("%s calls %s at %#x, which is not probed", fn.Name, callee.Name, in.Addr)
					}
				}
			}
		})
	}
}

// TestAllocSpanBytesMatchRuntime compares the embedded pages-per-span table
// with the one in the binaries (from .symtab).
func TestAllocSpanBytesMatchRuntime(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default) {
		b := openTarget(t, "allochot", v)
		addr, size, ok := b.Symbol("internal/runtime/gc.SizeClassToNPages")
		if !ok {
			addr, size, ok = b.Symbol("runtime.class_to_allocnpages")
		}
		if !ok || size != uint64(len(spanPages)) {
			t.Fatalf("%s: pages-per-span table not in .symtab (size %d)", v, size)
		}
		raw, err := b.ReadVA(addr, int(size))
		if err != nil {
			t.Fatal(err)
		}
		ap := b.AllocPoints()
		for class, n := range raw {
			if ap.SpanBytes[class] != uint32(n)*PageSize {
				t.Errorf("%s: size class %d: %d bytes per span, the binary says %d pages", v, class, ap.SpanBytes[class], n)
			}
		}
	}
}

func names(ps []AllocProbe) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}
