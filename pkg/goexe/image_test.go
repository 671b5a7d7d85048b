package goexe

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestTruncatedUnderMapping truncates the file under an open Binary (whose
// hot paths read the mapped file): every access must then fail cleanly
// instead of the process dying of SIGBUS. Close must do the same.
func TestTruncatedUnderMapping(t *testing.T) {
	src := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	for _, tc := range []string{"truncate", "close"} {
		t.Run(tc, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "idle")
			copyFile(t, src, path)
			b, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.im.m == nil {
				t.Fatal("the file is not mapped")
			}
			goexit := b.FuncsNamed("runtime.goexit")
			if len(goexit) != 1 {
				t.Fatalf("runtime.goexit: %v", goexit)
			}
			pc := goexit[0].Entry + 1
			if fr := b.Frames(pc, true); len(fr) == 0 {
				t.Fatal("no frames before truncation")
			}
			// A function whose pclntab pages were not touched yet, and one that was.
			last := slices.Collect(b.Funcs())
			far := last[len(last)-1]

			switch tc {
			case "truncate":
				if err := os.Truncate(path, 4096); err != nil {
					t.Fatal(err)
				}
			case "close":
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range []uint64{pc, far.Entry + 1} {
				if fr := b.Frames(p, true); fr != nil {
					t.Errorf("Frames(%#x) after %s: %v", p, tc, fr)
				}
				if _, ok := b.SPDelta(p); ok {
					t.Errorf("SPDelta(%#x) after %s succeeded", p, tc)
				}
				if _, ok := b.FuncAt(p); ok {
					t.Errorf("FuncAt(%#x) after %s succeeded", p, tc)
				}
				if _, ok := b.FuncMetaAt(p); ok {
					t.Errorf("FuncMetaAt(%#x) after %s succeeded", p, tc)
				}
				if b.IsReturnAddress(p) {
					t.Errorf("IsReturnAddress(%#x) after %s", p, tc)
				}
			}
			if fs := b.FuncsNamed("runtime.goexit"); len(fs) != 0 {
				t.Errorf("FuncsNamed after %s: %v", tc, fs)
			}
			if fs := b.FuncsNamed("main.main"); len(fs) != 0 {
				t.Errorf("FuncsNamed(main.main) after %s: %v", tc, fs)
			}
			if n := len(slices.Collect(b.Funcs())); n != 0 {
				t.Errorf("Funcs after %s: %d functions", tc, n)
			}
			if _, err := b.ReadVA(pc, 16); err == nil {
				t.Errorf("ReadVA after %s succeeded", tc)
			}
			if _, err := b.Decode(far); err == nil {
				t.Errorf("Decode after %s succeeded", tc)
			}
			if _, _, ok := b.Symbol("runtime.allgs"); ok {
				t.Errorf("Symbol after %s succeeded", tc)
			}
			if _, _, err := b.Section(".gopclntab"); err == nil {
				t.Errorf("Section after %s succeeded", tc)
			}
		})
	}
}
