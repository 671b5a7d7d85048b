package goexe

import (
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// BenchmarkUnwindStep is the per-frame work of the goroutine unwinder
// (pkg/goruntime): FuncMetaAt, SPDelta and Frames at return addresses
// spread over a few hundred runtime functions.
func BenchmarkUnwindStep(b *testing.B) {
	bin, err := Open(testutil.BuildTarget(b, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}))
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()
	var pcs []uint64
	for _, name := range []string{"runtime.gcBgMarkWorker", "runtime.mallocgc", "runtime.schedule", "runtime.findRunnable",
		"runtime.gcDrain", "runtime.park_m", "runtime.gopark", "runtime.newproc1", "runtime.runFinalizers", "runtime.main"} {
		for _, f := range bin.FuncsNamed(name) {
			for pc := f.Entry + 1; pc < f.End; pc += 37 {
				pcs = append(pcs, pc)
			}
		}
	}
	if len(pcs) < 100 {
		b.Fatalf("%d pcs", len(pcs))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pc := pcs[i%len(pcs)]
		bin.FuncMetaAt(pc)
		bin.SPDelta(pc)
		bin.Frames(pc, true)
	}
}
