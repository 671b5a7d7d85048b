package pclntab

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
)

// testBinary is what the tests need from an executable, read with debug/elf
// directly so this package's tests do not depend on goexe.
type testBinary struct {
	pclntab   []byte
	text      uint64
	gofunc    []byte
	minor     int
	goarch    string
	symtab    []elf.Symbol
	textStart uint64
}

// moduledata field offsets (runtime/symtab.go, go1.20.14–go1.27.3).
const mdText = 176

func mdGofunc(minor int) int {
	if minor >= 27 {
		return 344
	}
	return 320
}

func loadBinary(t testing.TB, path string) *testBinary {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := strings.Split(strings.TrimPrefix(bi.GoVersion, "go"), ".")
	minor, _ := strconv.Atoi(v[1])
	tb := &testBinary{minor: minor}
	for _, s := range bi.Settings {
		if s.Key == "GOARCH" {
			tb.goarch = s.Value
		}
	}
	sec := f.Section(".gopclntab")
	if sec == nil {
		t.Fatalf("%s: no .gopclntab", path)
	}
	if tb.pclntab, err = sec.Data(); err != nil {
		t.Fatal(err)
	}
	md := f.Section(".go.module")
	var mdata []byte
	if md != nil {
		mdata, _ = md.Data()
	} else {
		// Before 1.26: firstmoduledata is in .noptrdata; its first word is the pclntab address.
		nd, _ := f.Section(".noptrdata").Data()
		for i := 0; i+8 <= len(nd); i += 8 {
			if binary.LittleEndian.Uint64(nd[i:]) == sec.Addr {
				mdata = nd[i:]
				break
			}
		}
	}
	if len(mdata) < 400 {
		t.Fatalf("%s: moduledata not found", path)
	}
	tb.text = binary.LittleEndian.Uint64(mdata[mdText:])
	gofunc := binary.LittleEndian.Uint64(mdata[mdGofunc(minor):])
	for _, s := range f.Sections {
		if s.Type == elf.SHT_PROGBITS && gofunc >= s.Addr && gofunc < s.Addr+s.Size {
			d, _ := s.Data()
			tb.gofunc = d[gofunc-s.Addr:]
		}
	}
	if tb.gofunc == nil {
		t.Fatalf("%s: gofunc %#x in no section", path, gofunc)
	}
	tb.symtab, _ = f.Symbols()
	if ts := f.Section(".text"); ts != nil {
		tb.textStart = ts.Addr
	}
	return tb
}

func (b *testBinary) quantum() int {
	if b.goarch == "arm64" {
		return 4
	}
	return 1
}

func (b *testBinary) parse(t testing.TB) *Table {
	t.Helper()
	tab, err := Parse(b.pclntab, b.text, 8, b.quantum())
	if err != nil {
		t.Fatal(err)
	}
	return tab
}
