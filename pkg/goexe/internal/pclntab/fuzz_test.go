package pclntab

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// synthetic returns a tiny well-formed pclntab with two functions, for seeds.
func synthetic() []byte {
	le := binary.LittleEndian
	hdr := make([]byte, 72)
	le.PutUint32(hdr, Magic)
	hdr[6], hdr[7] = 1, 8
	le.PutUint64(hdr[8:], 2) // nfunc
	le.PutUint64(hdr[16:], 1)
	names := []byte("\x00main.a\x00main.b\x00")
	cutab := []byte{0, 0, 0, 0}
	files := []byte("a.go\x00")
	pctab := []byte{0, 0x02, 0x10, 0, 0x16, 0x10, 0}
	off := uint64(len(hdr))
	for i, n := range []int{len(names), len(cutab), len(files), len(pctab)} {
		le.PutUint64(hdr[32+8*i:], off)
		off += uint64(n)
	}
	le.PutUint64(hdr[64:], off)
	pcln := make([]byte, 20+2*72)
	le.PutUint32(pcln[0:], 0)
	le.PutUint32(pcln[4:], 20)
	le.PutUint32(pcln[8:], 0x10)
	le.PutUint32(pcln[12:], 20+72)
	le.PutUint32(pcln[16:], 0x20)
	for i := 0; i < 2; i++ {
		r := pcln[20+72*i:]
		le.PutUint32(r[0:], uint32(0x10*i))
		le.PutUint32(r[4:], uint32(1+7*i))
		le.PutUint32(r[16:], 1)
		le.PutUint32(r[20:], 1)
		le.PutUint32(r[24:], 4)
		le.PutUint32(r[28:], 3)
		r[43] = 4
	}
	out := append(slices.Clip(hdr), names...)
	out = append(out, cutab...)
	out = append(out, files...)
	out = append(out, pctab...)
	return append(out, pcln...)
}

func FuzzParse(f *testing.F) {
	f.Add(synthetic(), uint64(0x401000), uint64(0x401008))
	f.Add(synthetic()[:80], uint64(0), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, text, pc uint64) {
		tab, err := Parse(data, text, 0, 0)
		if err != nil {
			return
		}
		gofunc := data[len(data)/2:]
		n := tab.NumFuncs()
		if n > 64 {
			n = 64
		}
		for i := 0; i < n; i++ {
			fn, err := tab.Func(i)
			if err != nil {
				continue
			}
			for _, p := range []uint64{fn.Entry, pc, fn.End - 1, (fn.Entry + fn.End) / 2} {
				tab.SPDelta(fn, p)
				tab.FileLine(fn, p)
				tab.PCData(fn, PCDataInlTreeIndex, p)
				_, _ = tab.InlineFrames(fn, p, gofunc)
				if v, ok := tab.PCData(fn, PCDataStackMapIndex, p); ok {
					_, _, _ = tab.StackMap(fn, FuncDataLocalsPointerMaps, v, gofunc)
					_, _, _ = tab.StackMap(fn, FuncDataArgsPointerMaps, v, gofunc)
				}
			}
			_, _ = tab.StackObjects(fn, gofunc)
		}
		if fn, ok := tab.FuncAt(pc); ok {
			tab.FileLine(fn, pc)
			_, _ = tab.InlineFrames(fn, pc, gofunc)
		}
		fs, ferr := tab.Funcs()
		var scanned int
		serr := tab.Scan(bytes.NewReader(data), func(i int, name []byte) bool {
			if i != scanned || (i < len(fs) && fs[i].Name != string(name)) {
				t.Fatalf("Scan: function %d %q, Funcs has %d", i, name, scanned)
			}
			scanned++
			return true
		})
		if (ferr == nil) != (serr == nil) || scanned != len(fs) {
			t.Fatalf("Scan found %d functions (%v), Funcs %d (%v)", scanned, serr, len(fs), ferr)
		}
		if g, ok := tab.FuncAt(pc); ok {
			if f, ok2 := tab.Lookup(pc); !ok2 || g.Entry != f.Entry {
				t.Fatalf("Lookup and FuncAt disagree at %#x", pc)
			}
		}
		tab.TextEnd()
	})
}

func TestSynthetic(t *testing.T) {
	tab, err := Parse(synthetic(), 0x401000, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := tab.Funcs()
	if err != nil || len(fs) != 2 || fs[1].Name != "main.b" || fs[1].Entry != 0x401010 || fs[1].End != 0x401020 {
		t.Fatalf("%+v %v", fs, err)
	}
	f, ok := tab.FuncAt(0x401013)
	if !ok || f.Name != "main.b" {
		t.Fatalf("FuncAt: %+v %v", f, ok)
	}
	if file, line := tab.FileLine(f, 0x401013); file != "a.go" || line != 10 {
		t.Errorf("FileLine = %s:%d", file, line)
	}
	if d, ok := tab.SPDelta(f, 0x401013); !ok || d != 0 {
		t.Errorf("SPDelta = %d %v", d, ok)
	}
	if _, ok := tab.FuncAt(0x401020); ok {
		t.Error("FuncAt beyond the end")
	}
}
