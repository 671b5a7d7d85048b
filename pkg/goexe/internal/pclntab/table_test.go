package pclntab

import (
	"bytes"
	"debug/gosym"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestAgainstGosym checks every function and sampled PCs of real binaries of
// the whole build matrix against the standard library's debug/gosym.
func TestAgainstGosym(t *testing.T) {
	for _, v := range testutil.Matrix() {
		t.Run(v.String(), func(t *testing.T) {
			checkAgainstGosym(t, testutil.BuildTarget(t, "idle", v))
		})
	}
	// Binaries of other toolchains (e.g. go1.20–1.25), colon-separated.
	if extra := os.Getenv("MEMSIGHT_PCLNTAB_BINARIES"); extra != "" {
		for _, p := range strings.Split(extra, ":") {
			t.Run(filepath.Base(p), func(t *testing.T) { checkAgainstGosym(t, p) })
		}
	}
}

func checkAgainstGosym(t *testing.T, path string) {
	b := loadBinary(t, path)
	tab := b.parse(t)
	gt, err := gosym.NewTable(nil, gosym.NewLineTable(b.pclntab, b.text))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tab.Funcs()
	if err != nil {
		t.Fatal(err)
	}
	var scanned int
	err = tab.Scan(bytes.NewReader(b.pclntab), func(i int, name []byte) bool {
		if i != scanned || fs[i].Name != string(name) {
			t.Fatalf("Scan: function %d %q, want %d %q", i, name, scanned, fs[scanned].Name)
		}
		scanned++
		return true
	})
	if err != nil || scanned != len(fs) {
		t.Fatalf("Scan: %d of %d functions: %v", scanned, len(fs), err)
	}
	if len(fs) != len(gt.Funcs) {
		t.Fatalf("%d functions, gosym has %d", len(fs), len(gt.Funcs))
	}
	var pcs, inl int
	for i, f := range fs {
		g := gt.Funcs[i]
		if f.Name != g.Name || f.Entry != g.Entry || f.End != g.End {
			t.Fatalf("func %d: %s [%#x,%#x), gosym %s [%#x,%#x)", i, f.Name, f.Entry, f.End, g.Name, g.Entry, g.End)
		}
		if got, ok := tab.FuncAt(f.Entry); !ok || got.Entry != f.Entry {
			t.Fatalf("FuncAt(%#x) = %v %v, want %s", f.Entry, got.Name, ok, f.Name)
		}
		if got, ok := tab.FuncAt(f.End - 1); !ok || got.Entry != f.Entry {
			t.Fatalf("FuncAt(%#x) = %v %v, want %s", f.End-1, got.Name, ok, f.Name)
		}
		if d, ok := tab.SPDelta(f, f.Entry); ok && d != 0 && f.Flag&FlagAsm == 0 {
			t.Errorf("%s: SP delta %d at entry", f.Name, d)
		}
		step := (f.End-f.Entry)/8 + 1
		for pc := f.Entry; pc < f.End; pc += step {
			pcs++
			file, line := tab.FileLine(f, pc)
			gfile, gline, gfn := gt.PCToLine(pc)
			if gfn == nil || gfn.Entry != f.Entry {
				t.Fatalf("gosym PCToLine(%#x) in another function", pc)
			}
			if gfile == "" || f.pcfile == 0 || f.pcln == 0 {
				// gosym's "unknown" (line -1) or garbage (no table); the runtime says ?:0
				gfile, gline = "?", 0
			}
			if file != gfile || line != gline {
				t.Errorf("%s+%#x: %s:%d, gosym %s:%d", f.Name, pc-f.Entry, file, line, gfile, gline)
			}
			frames, err := tab.InlineFrames(f, pc, b.gofunc)
			if err != nil {
				t.Fatal(err)
			}
			in, out := frames[0], frames[len(frames)-1]
			if in.File != file || in.Line != line || out.Func != f.Name || out.Inlined {
				t.Errorf("%s+%#x: frames %+v", f.Name, pc-f.Entry, frames)
			}
			if len(frames) > 1 {
				inl++
			}
		}
	}
	if _, ok := tab.FuncAt(b.text - 1); ok {
		t.Error("FuncAt below text found a function")
	}
	if _, ok := tab.FuncAt(tab.TextEnd()); ok {
		t.Error("FuncAt at text end found a function")
	}
	if inl == 0 {
		t.Error("no inlined frames seen")
	}
	t.Logf("%d functions, %d pcs, %d with inlined frames", len(fs), pcs, inl)
}

// TestFuncIDs checks the per-version FuncID names against real binaries.
func TestFuncIDs(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default) {
		b := loadBinary(t, testutil.BuildTarget(t, "idle", v))
		tab := b.parse(t)
		fs, _ := tab.Funcs()
		want := map[string]string{
			"runtime.goexit": "goexit", "runtime.asyncPreempt": "asyncPreempt",
			"runtime.mcall": "mcall", "runtime.runFinalizers": "runFinalizers",
			"runtime.runCleanups": "runCleanups", "runtime.main": "runtime_main",
			"runtime.gopanic": "gopanic", "runtime.sigpanic": "sigpanic",
		}
		seen := 0
		for _, f := range fs {
			if w, ok := want[f.Name]; ok {
				seen++
				if got := FuncIDName(b.minor, f.FuncID); got != w {
					t.Errorf("%s: %s funcID %d = %q, want %q", v, f.Name, f.FuncID, got, w)
				}
				if f.Name == "runtime.goexit" && f.Flag&FlagTopFrame == 0 {
					t.Errorf("%s: goexit without the top-frame flag", v)
				}
			}
		}
		if seen < len(want) {
			t.Errorf("%s: saw %d of %d special functions", v, seen, len(want))
		}
	}
}
