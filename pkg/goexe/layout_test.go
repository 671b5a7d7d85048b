package goexe

import (
	"reflect"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestLayoutTableMatchesDWARF is what keeps layout_table.json honest: on
// every matrix binary with DWARF, the DWARF layout equals the table entry of
// its version and architecture, and binaries without DWARF get the table.
func TestLayoutTableMatchesDWARF(t *testing.T) {
	for _, v := range testutil.Matrix() {
		t.Run(v.String(), func(t *testing.T) {
			checkLayout(t, openTarget(t, "idle", v), v.Mode != testutil.Stripped)
		})
	}
	for _, tc := range []string{testutil.GoInstalled, testutil.GoNext} {
		t.Run(tc+"/arm64", func(t *testing.T) { checkLayout(t, openCross(t, "idle", tc, ARM64), true) })
	}
}

func checkLayout(t *testing.T, b *Binary, hasDWARF bool) {
	t.Helper()
	if err := b.LayoutErr(); err != nil {
		t.Fatal(err)
	}
	table, err := tableLayout(b.Version, b.Arch)
	if err != nil {
		t.Fatal(err)
	}
	want := "table:" + versionKey(b.Version)
	if hasDWARF {
		want = "dwarf"
	}
	if b.Layout.Source != want {
		t.Fatalf("layout source %q, want %q", b.Layout.Source, want)
	}
	if !reflect.DeepEqual(b.Layout.Fields, table.Fields) {
		for k, v := range b.Layout.Fields {
			if tv, ok := table.Fields[k]; !ok || tv != v {
				t.Errorf("%s: %d, table %d (present %v)", k, v, tv, ok)
			}
		}
		for k := range table.Fields {
			if _, ok := b.Layout.Fields[k]; !ok {
				t.Errorf("%s: only in the table", k)
			}
		}
	}
	for k, v := range table.Consts {
		if b.Layout.Consts[k] != v {
			t.Errorf("%s: %d, table %d", k, b.Layout.Consts[k], v)
		}
	}
	// Fields memsight relies on for Go 1.26/1.27.
	for _, k := range []string{
		"runtime.g.stack.hi", "runtime.g.sched.sp", "runtime.g.sched.pc", "runtime.g.sched.bp",
		"runtime.g.atomicstatus", "runtime.g.goid", "runtime.g.waitsince", "runtime.g.waitreason",
		"runtime.g.parentGoid", "runtime.g.gopc", "runtime.g.startpc", "runtime.m.procid",
		"runtime.m.curg", "runtime.moduledata.gofunc", "runtime.cleanupQueue.executed", "runtime.p.cleanupsQueued",
	} {
		if _, ok := b.Layout.Off(k); !ok {
			t.Errorf("%s unknown", k)
		}
	}
	// Wait reasons: the binary's own array when it has .symtab, else the
	// table; both must agree.
	names, src := tableWaitReasons(b.Version)
	wantSrc := src
	if !b.Stripped {
		wantSrc = "symtab"
		bin, _ := binaryWaitReasons(b)
		if !reflect.DeepEqual(bin, names) {
			t.Errorf("waitReasonStrings in the binary %q, table %q", bin, names)
		}
	}
	if got := b.Layout.Names["waitReason.source"]; got != wantSrc {
		t.Errorf("wait reasons from %q, want %q", got, wantSrc)
	}
	if r, ok := b.Layout.WaitReason(b.Layout.Consts["waitReason.finalizer wait"]); !ok || r != "finalizer wait" {
		t.Errorf("finalizer wait: %q %v", r, ok)
	}
}
