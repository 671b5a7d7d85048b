package goexe

import (
	"debug/dwarf"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestDWARFLayoutMatchesDebugDWARF checks the streaming DWARF reader
// against debug/dwarf parsing all of the DWARF: on the matrix binaries
// with DWARF, on DWARF 4 (GOEXPERIMENT=nodwarf5) and uncompressed DWARF
// builds, and on MEMSIGHT_GOEXE_BINARIES (colon-separated).
func TestDWARFLayoutMatchesDebugDWARF(t *testing.T) {
	paths := map[string]string{}
	for _, v := range testutil.Matrix(testutil.Default, testutil.PIE, testutil.CGO) {
		paths[v.String()] = testutil.BuildTarget(t, "idle", v)
	}
	for name, env := range map[string][]string{
		"dwarf4":       {"GOEXPERIMENT=nodwarf5"},
		"uncompressed": {"GOFLAGS=-ldflags=-compressdwarf=false"},
	} {
		out := filepath.Join(t.TempDir(), name)
		cmd := exec.Command("go", "build", "-o", out, ".")
		cmd.Dir = filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "idle")
		cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=" + testutil.GoInstalled}, env...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, b)
		}
		paths[name] = out
	}
	if extra := os.Getenv("MEMSIGHT_GOEXE_BINARIES"); extra != "" {
		for _, p := range strings.Split(extra, ":") {
			paths[filepath.Base(p)] = p
		}
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			// The dwarf4 build's version, go1.26.8-X:nodwarf5, is
			// refused, but the Binary is returned with its file open.
			b, err := Open(path)
			if b == nil {
				t.Fatal(err)
			}
			defer b.Close()
			got, err := dwarfLayout(b)
			if err != nil {
				t.Fatal(err)
			}
			d, err := b.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			want := debugDWARFLayout(t, d)
			if !reflect.DeepEqual(got.Fields, want.Fields) || !reflect.DeepEqual(got.Consts, want.Consts) {
				t.Errorf("streaming DWARF layout differs from debug/dwarf:\n got %v %v\nwant %v %v", got.Fields, got.Consts, want.Fields, want.Consts)
			}
			if len(got.Fields) < 80 {
				t.Errorf("only %d fields", len(got.Fields))
			}
		})
	}
}

// debugDWARFLayout is the layout read with debug/dwarf: the first struct
// type of each layoutSpec name among the top-level entries of every unit.
func debugDWARFLayout(t *testing.T, d *dwarf.Data) Layout {
	spec := layoutSpec()
	want := map[string]int{}
	for i, s := range spec {
		for _, n := range s.Names {
			want[n] = i
		}
	}
	found := map[int]dwarf.Offset{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			continue
		}
		if name, _ := e.Val(dwarf.AttrName).(string); e.Tag == dwarf.TagStructType && name != "" {
			if i, ok := want[name]; ok {
				if _, dup := found[i]; !dup {
					found[i] = e.Offset
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	l := Layout{Fields: map[string]int64{}, Consts: map[string]int64{}}
	for i, s := range spec {
		off, ok := found[i]
		if !ok {
			continue
		}
		typ, err := d.Type(off)
		if err != nil {
			t.Fatal(err)
		}
		st := typ.(*dwarf.StructType)
		l.Consts[SizeKey(s.Key)] = st.ByteSize
		for _, path := range s.Fields {
			if o, ok := debugFieldOffset(st, path); ok {
				l.Fields[s.Key+"."+path] = o
			}
		}
	}
	return l
}

// debugFieldOffset resolves a dotted member path inside st, through typedefs.
func debugFieldOffset(st *dwarf.StructType, path string) (int64, bool) {
	var off int64
	parts := strings.Split(path, ".")
	for i, p := range parts {
		var f *dwarf.StructField
		for _, c := range st.Field {
			if c.Name == p {
				f = c
				break
			}
		}
		if f == nil {
			return 0, false
		}
		off += f.ByteOffset
		if i == len(parts)-1 {
			return off, true
		}
		typ := f.Type
		for {
			td, ok := typ.(*dwarf.TypedefType)
			if !ok {
				break
			}
			typ = td.Type
		}
		next, ok := typ.(*dwarf.StructType)
		if !ok {
			return 0, false
		}
		st = next
	}
	return 0, false
}
