package heapprof

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
)

// fakeFrames maps link-time pcs (as looked up: pc-1 with ret) to frames.
type fakeFrames map[uint64][]goexe.Frame

func (f fakeFrames) Frames(pc uint64, ret bool) []goexe.Frame {
	if ret {
		pc--
	}
	return f[pc]
}

func TestLocations(t *testing.T) {
	const bias = 0x10000
	fr := func(fn string, line int, entry uint64, inl bool) goexe.Frame {
		return goexe.Frame{Func: fn, File: "f.go", Line: line, Entry: entry, Inlined: inl}
	}
	src := fakeFrames{
		// runtime.mallocgc called by main.alloc (physical, entry 0x200),
		// whose call is inside g inlined into main.alloc (mark at 0x210).
		0x100: {fr("runtime.mallocgc", 1, 0x100, false)},
		0x101: {fr("runtime.mallocgc", 1, 0x100, false)},
		0x220: {fr("main.g", 7, 0x200, true), fr("main.alloc", 3, 0x200, false)},
		0x221: {fr("main.g", 7, 0x200, true), fr("main.alloc", 3, 0x200, false)},
		0x210: {fr("main.alloc", 3, 0x200, false)},
		0x300: {fr("main.main", 9, 0x2f0, false)},
		0x400: {fr("runtime.goexit", 1, 0x400, false)},
	}
	s := &Snapshot{Rate: 512 * 1024, withBytes: true, version: goexe.Version{Major: 1, Minor: 26}}
	s.Records = []Record{
		{Stack: []uint64{bias + 0x101, bias + 0x221, bias + 0x211, bias + 0x301, bias + 0x401}, AllocObjects: 2, AllocBytes: 2048, ObjectSize: 1024},
		{Stack: []uint64{bias + 0x101}, AllocObjects: 1, AllocBytes: 64, ObjectSize: 64},
		// Cut inside the inlined g: main.alloc is added from the expansion.
		{Stack: []uint64{bias + 0x221}, AllocObjects: 1, AllocBytes: 64, ObjectSize: 64},
		{Stack: []uint64{bias + 0x999}, AllocObjects: 1, AllocBytes: 64, ObjectSize: 64},
	}
	p := s.profile(src, bias, []Mapping{{Start: bias, Limit: bias + 0x1000, File: "/x"}})
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		// runtime.mallocgc hidden; g and main.alloc merged; goexit dropped.
		"0x10220:main.g:7,main.alloc:3 0x10300:main.main:9",
		// Only runtime frames: kept.
		"0x10100:runtime.mallocgc:1",
		"0x10220:main.g:7,main.alloc:3",
		"0x10998:",
	}
	for i, smp := range p.Sample {
		if got := stackString(smp.Location); got != want[i] {
			t.Errorf("sample %d: %s, want %s", i, got, want[i])
		}
	}
	if p.Mapping[0].HasFunctions {
		t.Error("mapping with an unknown pc claims to have functions")
	}
	if l := p.Sample[0].NumLabel["bytes"]; len(l) != 1 || l[0] != 1024 {
		t.Errorf("bytes label %v", l)
	}
}

func stackString(locs []*profile.Location) string {
	var parts []string
	for _, l := range locs {
		var lines []string
		for _, ln := range l.Line {
			lines = append(lines, fmt.Sprintf("%s:%d", ln.Function.Name, ln.Line))
		}
		parts = append(parts, fmt.Sprintf("%#x:%s", l.Address, strings.Join(lines, ",")))
	}
	return strings.Join(parts, " ")
}

func TestScale(t *testing.T) {
	// 1.26 (bytes) and 1.27 (object size) agree when bytes = count * size.
	for _, c := range []struct{ count, size, rate int64 }{
		{1, 1024, 512 * 1024}, {7, 48, 512 * 1024}, {3, 1 << 20, 512 * 1024}, {5, 16, 1}, {0, 8, 4096}, {4, 0, 4096},
	} {
		o1, b1 := scaleBytes(c.count, c.count*c.size, c.rate)
		o2, b2 := scaleSize(c.count, c.size, c.rate)
		if o1 != o2 || b1 != b2 {
			t.Errorf("%+v: bytes %d/%d, size %d/%d", c, o1, b1, o2, b2)
		}
	}
	// One sampled 1 KiB object at the default rate stands for about 512.
	if o, b := scaleSize(1, 1024, 512*1024); o != 512 || b != 524800 {
		t.Errorf("1 KiB at 512 KiB: %d objects, %d bytes", o, b)
	}
}

func TestGNUBuildID(t *testing.T) {
	note := []byte{4, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 0xab, 0xcd, 0xef, 0}
	if id, ok := gnuBuildID(note); !ok || id != "abcdef" {
		t.Errorf("gnuBuildID = %q, %v", id, ok)
	}
	if _, ok := gnuBuildID(note[:14]); ok {
		t.Error("truncated note accepted")
	}
}
