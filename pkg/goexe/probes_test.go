package goexe

import (
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestFuncBodyABIWrappers checks the choice between two same-named pclntab
// functions against .symtab, which tells them apart by the ".abi0" suffix:
// for Go functions called from assembly the body is the ABIInternal one;
// for assembly functions called from Go it is the ABI0 one.
func TestFuncBodyABIWrappers(t *testing.T) {
	for _, mode := range []testutil.Mode{testutil.Default, testutil.CGO} {
		b := openIdle(t, mode)
		for name, sym := range map[string]string{
			"runtime.newproc":     "runtime.newproc",
			"runtime.goexit1":     "runtime.goexit1",
			"runtime.reflectcall": "runtime.reflectcall.abi0",
			"runtime.asmcgocall":  "runtime.asmcgocall.abi0",
		} {
			if n := len(b.FuncsNamed(name)); n != 2 {
				t.Fatalf("%s: %d pclntab functions, want 2", name, n)
			}
			fn, _, err := b.funcBody(name)
			want, _, ok := b.Symbol(sym)
			if err != nil || !ok || fn.Entry != want {
				t.Errorf("%s %s: body %#x (%v), .symtab %s = %#x", mode, name, fn.Entry, err, sym, want)
			}
		}
		// A Go body reached through its wrapper still has the prologue.
		p, err := b.funcProbe("runtime.newproc")
		if err != nil || p.Cheap == nil {
			t.Errorf("funcProbe(runtime.newproc) = %+v, %v", p, err)
		}
	}
}

// TestProbesMissing checks that absent or unrecognisable functions leave
// precise reasons instead of points.
func TestProbesMissing(t *testing.T) {
	b := openIdle(t, testutil.Stripped)
	if _, err := b.finalizerCall("runtime.runfinq"); err == nil || !strings.Contains(err.Error(), "not in .gopclntab") {
		t.Errorf("runfinq on go1.26: %v", err)
	}
	// queuefinalizer calls no reflectcall and has no indirect call.
	if _, err := b.finalizerCall("runtime.queuefinalizer"); err == nil || !strings.Contains(err.Error(), "no CALL to runtime.reflectcall") {
		t.Errorf("finalizerCall(queuefinalizer): %v", err)
	}
	if _, err := b.cleanupCall("runtime.runFinalizers"); err == nil {
		t.Error("cleanupCall(runFinalizers) found a closure call")
	}
	// morestack_noctxt is assembly without a stack-check prologue.
	r, err := b.funcProbe("runtime.morestack_noctxt")
	if err != nil || r.Cheap != nil || !strings.Contains(r.cheapWhy, "not a known stack-check shape") {
		t.Errorf("funcProbe(morestack_noctxt) = %+v, %v", r, err)
	}

	// go1.24 rules, applied to a go1.26 binary renamed to look like one:
	// runfinq does not exist, so both runfinq points are reported missing.
	old := openIdle(t, testutil.Stripped)
	old.Version = Version{1, 24, 13}
	pp := findProbes(old)
	if pp.FinalizerRunner != "runtime.runfinq" || pp.CleanupRunner != "runtime.runfinq" ||
		pp.FinalizerCall != nil || pp.CleanupCall != nil || pp.CleanupEnqueue != nil ||
		pp.Missing[ptFinalizerCall] == "" || pp.Missing[ptCleanupCall] == "" || pp.Missing[ptCleanupEnqueue] == "" {
		t.Errorf("go1.24 rules: %+v", pp)
	}
	if ok, reason := attachable(&Binary{Probes: pp}, nil); ok || reason != "runtime.runfinq: not in .gopclntab" {
		t.Errorf("attachable = %v, %q", ok, reason)
	}
	old.Version = Version{1, 23, 0}
	if pp := findProbes(old); pp.CleanupRunner != "" || !strings.Contains(pp.Missing[ptCleanupCall], "go1.24") {
		t.Errorf("go1.23 rules: %+v", pp)
	}
}

func openIdle(t *testing.T, mode testutil.Mode) *Binary {
	t.Helper()
	b, err := Open(testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: mode}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
