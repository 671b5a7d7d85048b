package goexe

import (
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// probedFuncs is the objdump -s pattern for every function probes.go decodes.
const probedFuncs = `^runtime\.(queuefinalizer|SetFinalizer|runFinalizers|runCleanups|\(\*cleanupQueue\)\.enqueue|\(\*gcControllerState\)\.startCycle|stopTheWorldWithSema|startTheWorldWithSema)$`

// TestOpenMatrix opens the idle target built by every toolchain and mode and
// checks the facts and every probe point against the toolchain's own
// objdump and nm of the same bytes.
func TestOpenMatrix(t *testing.T) {
	for _, v := range testutil.Matrix() {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			path := testutil.BuildTarget(t, "idle", v)
			b, err := Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer b.Close()
			checkBuildFacts(t, b, v)
			checkFuncTable(t, b)
			if !b.Attachable || b.Reason != "" {
				t.Errorf("Attachable=%v Reason=%q", b.Attachable, b.Reason)
			}
			if len(b.Probes.Missing) != 0 {
				t.Errorf("missing probe points: %v", b.Probes.Missing)
			}

			// objdump needs .symtab. -s -w does not change code layout, so
			// a stripped build is compared with the default build once their
			// function tables are shown to be identical (checkPoint still
			// compares the stripped file's own bytes).
			ref := path
			if v.Mode == testutil.Stripped {
				ref = testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: v.Toolchain, Mode: testutil.Default})
				requireSameLayout(t, b, ref)
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkProbesAgainstObjdump(t, b, objdump(t, b.Arch, v.Toolchain, ref, probedFuncs), file)

			if v.Mode != testutil.Stripped {
				want, ok := nmAddr(t, v.Toolchain, path, "runtime.text")
				if !ok {
					t.Fatal("go tool nm shows no runtime.text")
				}
				if b.TextStart != want {
					t.Errorf("TextStart %#x (%s), nm runtime.text %#x", b.TextStart, b.TextSource, want)
				}
			}
		})
	}
}

func checkBuildFacts(t *testing.T, b *Binary, v testutil.Variant) {
	t.Helper()
	want, _ := ParseVersion(v.Toolchain)
	if b.GoVersion != v.Toolchain || b.Version != want {
		t.Errorf("GoVersion %q %+v, want %s", b.GoVersion, b.Version, v.Toolchain)
	}
	if b.Arch != AMD64 {
		t.Errorf("Arch %s", b.Arch)
	}
	checks := []struct {
		name      string
		got, want bool
	}{
		{"PIE", b.PIE, v.Mode == testutil.PIE},
		{"Stripped", b.Stripped, v.Mode == testutil.Stripped},
		{"HasDWARF", b.HasDWARF, v.Mode != testutil.Stripped},
		{"CGO", b.CGO, v.Mode == testutil.CGO},
		{"Trimpath", b.Trimpath, v.Mode == testutil.Trimpath},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	wantMode := "exe"
	if v.Mode == testutil.PIE {
		wantMode = "pie"
	}
	if b.BuildMode != wantMode || b.GOAMD64 != "v1" || b.MainModule != "memsight.test/idle" {
		t.Errorf("BuildMode %q GOAMD64 %q MainModule %q", b.BuildMode, b.GOAMD64, b.MainModule)
	}
	if b.BuildID == "" || b.Key.BuildID != b.BuildID || b.Key.Ino == 0 {
		t.Errorf("Key %+v BuildID %q", b.Key, b.BuildID)
	}
	if b.TextSource != "go.module" {
		t.Errorf("TextSource %q, want go.module", b.TextSource)
	}
	_, textAddr, err := b.Section(".text")
	if err != nil {
		t.Fatal(err)
	}
	// External linking puts crt code first: runtime.text is past .text.
	if (v.Mode == testutil.CGO) != (textAddr != b.TextStart) {
		t.Errorf("mode %s: .text %#x, runtime.text %#x", v.Mode, textAddr, b.TextStart)
	}
	if b.PIE && b.Segments[0].Vaddr != 0x400000 {
		t.Errorf("PIE first PT_LOAD at %#x", b.Segments[0].Vaddr)
	}
}

func checkFuncTable(t *testing.T, b *Binary) {
	t.Helper()
	fs := slices.Collect(b.Funcs())
	if len(fs) < 1000 || !sort.SliceIsSorted(fs, func(i, j int) bool { return fs[i].Entry < fs[j].Entry }) {
		t.Fatalf("%d functions, sorted=%v", len(fs), sort.SliceIsSorted(fs, func(i, j int) bool { return fs[i].Entry < fs[j].Entry }))
	}
	rc := b.FuncsNamed("runtime.reflectcall")
	if len(rc) != 2 {
		t.Fatalf("FuncsNamed(runtime.reflectcall) = %v, want the ABI0 body and the wrapper", rc)
	}
	if !b.Stripped {
		abi0, _, ok := b.Symbol("runtime.reflectcall.abi0")
		if !ok || (abi0 != rc[0].Entry && abi0 != rc[1].Entry) {
			t.Errorf(".symtab runtime.reflectcall.abi0 = %#x, pclntab entries %v", abi0, rc)
		}
		if main, _, ok := b.Symbol("main.main"); !ok || len(b.FuncsNamed("main.main")) != 1 || b.FuncsNamed("main.main")[0].Entry != main {
			t.Errorf("main.main: symtab %#x, pclntab %v", main, b.FuncsNamed("main.main"))
		}
	} else if _, _, ok := b.Symbol("main.main"); ok {
		t.Error("stripped binary has symbols")
	}
	f, ok := b.FuncAt(b.Probes.FinalizerCall.Call.Addr)
	if !ok || f.Name != b.Probes.FinalizerRunner {
		t.Errorf("FuncAt(call site) = %v %v", f, ok)
	}
	if _, ok := b.FuncAt(fs[0].Entry - 1); ok {
		t.Error("FuncAt before the first function succeeded")
	}
}

// requireSameLayout fails unless b and the file at ref have the same
// function table (names, entries, ends). -s -w changes data layout (so
// RIP-relative displacements differ) but not code layout.
func requireSameLayout(t *testing.T, b *Binary, ref string) {
	t.Helper()
	rb, err := Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	a, r := slices.Collect(b.Funcs()), slices.Collect(rb.Funcs())
	if len(a) != len(r) {
		t.Fatalf("stripped build has %d functions, default %d: objdump comparison impossible", len(a), len(r))
	}
	for i := range a {
		if a[i] != r[i] {
			t.Fatalf("function %d differs: %v vs %v: objdump comparison impossible", i, a[i], r[i])
		}
	}
}

func checkProbesAgainstObjdump(t *testing.T, b *Binary, dis map[string][]objInst, file []byte) {
	t.Helper()
	p := b.Probes
	cheapBranch := "JBE "
	indirect := reIndirectCallX86.MatchString
	if b.Arch == ARM64 {
		cheapBranch, indirect = "BLS ", reIndirectCallARM64.MatchString
	}
	funcs := map[string]*FuncProbe{
		"runtime.queuefinalizer":                  p.QueueFinalizer,
		"runtime.SetFinalizer":                    p.SetFinalizer,
		"runtime.(*cleanupQueue).enqueue":         p.CleanupEnqueue,
		"runtime.(*gcControllerState).startCycle": p.GCStartCycle,
		"runtime.stopTheWorldWithSema":            p.STWStop,
		"runtime.startTheWorldWithSema":           p.STWStart,
	}
	for name, fp := range funcs {
		insts := dis[name]
		if fp == nil || len(insts) < 4 {
			t.Errorf("%s: probe %v, objdump has %d instructions", name, fp, len(insts))
			continue
		}
		checkPoint(t, file, name+" entry", fp.Entry, insts[0])
		if fp.Entry.Emulated || fp.Entry.Func != name {
			t.Errorf("%s entry: %+v", name, fp.Entry)
		}
		var cheap objInst
		for _, in := range insts[:4] {
			if strings.HasPrefix(in.text, cheapBranch) {
				cheap = in
				break
			}
		}
		if fp.Cheap == nil {
			t.Errorf("%s: no cheap point", name)
			continue
		}
		checkPoint(t, file, name+" cheap", *fp.Cheap, cheap)
		if !fp.Cheap.Emulated {
			t.Errorf("%s cheap point %q not emulated", name, fp.Cheap.Inst)
		}
	}

	if p.FinalizerCall == nil || p.CleanupCall == nil {
		t.Fatalf("FinalizerCall %v CleanupCall %v", p.FinalizerCall, p.CleanupCall)
	}
	call, resume := objCallSite(t, dis, p.FinalizerRunner, func(s string) bool {
		return strings.HasPrefix(s, "CALL runtime.reflectcall")
	})
	checkPoint(t, file, "finalizer call", p.FinalizerCall.Call, call)
	checkPoint(t, file, "finalizer resume", p.FinalizerCall.Resume, resume)
	if !p.FinalizerCall.Call.Emulated {
		t.Error("CALL rel32 not marked emulated")
	}
	call, resume = objCallSite(t, dis, p.CleanupRunner, indirect)
	checkPoint(t, file, "cleanup call", p.CleanupCall.Call, call)
	checkPoint(t, file, "cleanup resume", p.CleanupCall.Resume, resume)
	if p.CleanupCall.Call.Emulated != (b.Arch == ARM64) {
		t.Errorf("indirect call emulated=%v on %s", p.CleanupCall.Call.Emulated, b.Arch)
	}
}
