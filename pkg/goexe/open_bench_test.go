package goexe

import (
	"os"
	"testing"
)

// BenchmarkOpen inspects the executable named by MEMSIGHT_BENCH_EXE.
func BenchmarkOpen(b *testing.B) {
	path := os.Getenv("MEMSIGHT_BENCH_EXE")
	if path == "" {
		b.Skip("set MEMSIGHT_BENCH_EXE to an executable")
	}
	b.ReportAllocs()
	for b.Loop() {
		bin, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		bin.Close()
	}
}
