package dwarfstruct

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

// Abbreviation codes of the synthetic DWARF.
const (
	abCU = iota + 1
	abStruct
	abMember
	abTypedef
	abVar
)

// syntheticAbbrev is a DWARF 4 abbreviation table for synthetic units.
func syntheticAbbrev() []byte {
	var b []byte
	add := func(code, tag byte, children bool, attrs ...byte) {
		c := byte(0)
		if children {
			c = 1
		}
		b = append(b, code, tag, c)
		b = append(b, attrs...)
		b = append(b, 0, 0)
	}
	add(abCU, tagCompileUnit, true, atName, 0x08)
	add(abStruct, tagStructType, true, atName, 0x08, atByteSize, 0x0f)
	add(abMember, tagMember, false, atName, 0x08, atDataMemberLocation, 0x0f, atType, 0x13)
	add(abTypedef, tagTypedef, false, atName, 0x08, atType, 0x13)
	add(abVar, 0x34, false, atName, 0x08)
	return append(b, 0)
}

// unitBuilder writes the entries of one DWARF 4 unit.
type unitBuilder struct {
	body  []byte
	fixup map[int]string // position of a ref4 -> label it points to
	label map[string]int // label -> offset from the unit start
}

const unitHeader = 11 // length, version, abbrev offset, address size

func newUnit() *unitBuilder {
	return &unitBuilder{fixup: map[int]string{}, label: map[string]int{}}
}

func (u *unitBuilder) mark(l string) { u.label[l] = unitHeader + len(u.body) }

func (u *unitBuilder) str(s string) { u.body = append(append(u.body, s...), 0) }

func (u *unitBuilder) entry(code byte, name string) {
	u.body = append(u.body, code)
	u.str(name)
}

func (u *unitBuilder) ref(l string) {
	u.fixup[len(u.body)] = l
	u.body = append(u.body, 0, 0, 0, 0)
}

func (u *unitBuilder) structType(label, name string, size uint64) {
	u.mark(label)
	u.entry(abStruct, name)
	u.body = binary.AppendUvarint(u.body, size)
}

func (u *unitBuilder) member(name string, loc uint64, typ string) {
	u.entry(abMember, name)
	u.body = binary.AppendUvarint(u.body, loc)
	u.ref(typ)
}

func (u *unitBuilder) typedef(label, name, typ string) {
	u.mark(label)
	u.entry(abTypedef, name)
	u.ref(typ)
}

func (u *unitBuilder) end() { u.body = append(u.body, 0) }

func (u *unitBuilder) bytes() []byte {
	for pos, l := range u.fixup {
		binary.LittleEndian.PutUint32(u.body[pos:], uint32(u.label[l]))
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(unitHeader-4+len(u.body)))
	out = binary.LittleEndian.AppendUint16(out, 4)
	out = binary.LittleEndian.AppendUint32(out, 0)
	return append(append(out, 8), u.body...)
}

// syntheticInfo is a .debug_info with an unrelated unit, a small "runtime"
// unit without types (Go writes several) and the "runtime" unit holding
// runtime.g, whose member sched's typedef is pad bytes before it.
func syntheticInfo(pad int) []byte {
	other := newUnit()
	other.entry(abCU, "main")
	other.structType("x", "runtime.g", 1) // not in a runtime unit: ignored
	other.end()
	other.end()

	small := newUnit()
	small.entry(abCU, "runtime")
	small.entry(abVar, "runtime.x")
	small.end()

	rt := newUnit()
	rt.entry(abCU, "runtime")
	rt.structType("gobuf", "runtime.gobuf", 48)
	rt.member("sp", 0, "none")
	rt.member("pc", 8, "none")
	rt.end()
	rt.typedef("gobufT", "runtime.gobuf", "gobuf")
	for i := 0; i < pad; i += 1000 {
		rt.entry(abVar, strings.Repeat("p", 999))
	}
	rt.structType("g", "runtime.g", 200)
	rt.member("stack", 0, "stackT")
	rt.member("sched", 56, "gobufT")
	rt.member("goid", 152, "none")
	rt.end()
	rt.structType("stack", "runtime.stack", 16)
	rt.member("lo", 0, "none")
	rt.member("hi", 8, "none")
	rt.end()
	rt.typedef("stackT", "runtime.stack", "stack")
	rt.mark("none")
	rt.entry(abVar, "runtime.none")
	rt.end()
	return append(append(other.bytes(), small.bytes()...), rt.bytes()...)
}

var syntheticWant = map[string][]string{
	"runtime.g": {"stack.lo", "stack.hi", "sched.sp", "sched.pc", "goid", "missing", "goid.x"},
	"runtime.m": {"procid"},
}

func TestSynthetic(t *testing.T) {
	want := map[string]Struct{"runtime.g": {Size: 200, Fields: map[string]int64{
		"stack.lo": 0, "stack.hi": 8, "sched.sp": 56, "sched.pc": 64, "goid": 152,
	}}}
	// A typedef still in the window resolves in one pass; one further
	// back takes a second pass.
	for _, tc := range []struct{ pad, passes int }{{10, 1}, {history + 1000, 1}, {windowSize + 1000, 2}, {3 * windowSize, 2}} {
		info := syntheticInfo(tc.pad)
		open := func() io.Reader { return bytes.NewReader(info) }
		got, st, err := Read(open, syntheticAbbrev(), "runtime", syntheticWant, Limits{MaxScan: 1 << 30, MaxPasses: 3})
		if err != nil {
			t.Fatalf("pad %d: %v", tc.pad, err)
		}
		if !reflect.DeepEqual(got, want) || st.Passes != tc.passes {
			t.Errorf("pad %d: %+v in %d passes, want %+v in %d", tc.pad, got, st.Passes, want, tc.passes)
		}
		// One pass only: the backward reference stays unresolved.
		got, _, err = Read(open, syntheticAbbrev(), "runtime", syntheticWant, Limits{MaxScan: 1 << 30, MaxPasses: 1})
		if _, ok := got["runtime.g"].Fields["sched.sp"]; err != nil || ok != (tc.passes == 1) {
			t.Errorf("pad %d, one pass: %+v %v", tc.pad, got, err)
		}
	}
	info := syntheticInfo(10)
	_, _, err := Read(func() io.Reader { return bytes.NewReader(info) }, syntheticAbbrev(), "runtime", syntheticWant, Limits{MaxScan: 40})
	if !errors.Is(err, ErrNoUnit) {
		t.Errorf("MaxScan 40: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add(syntheticInfo(3), syntheticAbbrev())
	f.Add(syntheticInfo(3)[:60], syntheticAbbrev()[:20])
	f.Fuzz(func(t *testing.T, info, abbrev []byte) {
		open := func() io.Reader { return bytes.NewReader(info) }
		got, st, err := Read(open, abbrev, "runtime", syntheticWant, Limits{MaxScan: 1 << 20, MaxPasses: 2})
		if err == nil && len(got) > len(syntheticWant) || st.Passes > 2 || st.Read > 2*int64(len(info)) {
			t.Fatalf("%d structs, %+v", len(got), st)
		}
	})
}

// TestMain bounds how long the fuzzer minimizes each new input (60 s by
// default, which can take all of a short -fuzztime run); an explicit
// -test.fuzzminimizetime wins.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		if err := flag.Set("test.fuzzminimizetime", "2s"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
