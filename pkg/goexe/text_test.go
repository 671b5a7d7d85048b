package goexe

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// patchELF returns a copy of the idle target built for mode with edit applied.
func patchELF(t *testing.T, mode testutil.Mode, edit func(t *testing.T, f *elf.File, data []byte)) []byte {
	t.Helper()
	path := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: mode})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	edit(t, f, data)
	return data
}

// renameSection renames a section in place (same-length names only).
func renameSection(from, to string) func(*testing.T, *elf.File, []byte) {
	return func(t *testing.T, f *elf.File, data []byte) {
		sh := f.Section(".shstrtab")
		if sh == nil || len(from) != len(to) {
			t.Fatal("no .shstrtab or names of different lengths")
		}
		tab := data[sh.Offset : sh.Offset+sh.Size]
		i := bytes.Index(tab, []byte("\x00"+from+"\x00"))
		if i < 0 {
			t.Fatalf("%s not in .shstrtab", from)
		}
		copy(tab[i+1:], to)
	}
}

// putModuledata overwrites 8-byte words of .go.module at the given offsets.
func putModuledata(words map[uint64]uint64) func(*testing.T, *elf.File, []byte) {
	return func(t *testing.T, f *elf.File, data []byte) {
		s := f.Section(".go.module")
		if s == nil {
			t.Fatal("no .go.module")
		}
		for off, v := range words {
			binary.LittleEndian.PutUint64(data[s.Offset+off:], v)
		}
	}
}

func TestTextStart(t *testing.T) {
	both := func(edits ...func(*testing.T, *elf.File, []byte)) func(*testing.T, *elf.File, []byte) {
		return func(t *testing.T, f *elf.File, data []byte) {
			for _, e := range edits {
				e(t, f, data)
			}
		}
	}
	cases := []struct {
		name    string
		mode    testutil.Mode
		edit    func(*testing.T, *elf.File, []byte)
		text    uint64 // 0: error wanted
		source  string
		wantErr error
	}{
		// Pre-1.26 layout: firstmoduledata found by scanning .noptrdata.
		{"scan/internal", testutil.Stripped, renameSection(".go.module", ".noptrdata"), 0x401000, "moduledata", nil},
		{"scan/cgo", testutil.CGO, renameSection(".go.module", ".noptrdata"), 0x402400, "moduledata", nil},
		// PIE: the values are also in RELATIVE relocations' addends.
		{"pie/relocations", testutil.PIE, putModuledata(map[uint64]uint64{0: 0, 176: 0, 184: 0}), 0x401000, "go.module", nil},
		// No moduledata at all.
		{"fallback/internal", testutil.Stripped, putModuledata(map[uint64]uint64{0: 0}), 0x401000, ".text section (internal linking)", nil},
		{"fallback/cgo-symtab", testutil.CGO, putModuledata(map[uint64]uint64{0: 0}), 0x402400, "symtab", nil},
		{"fallback/cgo-stripped", testutil.CGO, both(putModuledata(map[uint64]uint64{0: 0}), renameSection(".symtab", ".symtaX")), 0, "", ErrUnsupportedGo},
		// A plausible but wrong moduledata.text loses against .symtab.
		{"symtab-wins", testutil.Default, putModuledata(map[uint64]uint64{176: 0x401100}), 0x401000, "symtab (go.module said 0x401100)", nil},
		// ... and is rejected when it is not inside .text.
		{"invalid-text", testutil.Stripped, putModuledata(map[uint64]uint64{176: 0x10}), 0x401000, ".text section (internal linking)", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := patchELF(t, c.mode, c.edit)
			b, err := OpenReader(bytes.NewReader(data), int64(len(data)), c.name)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.TextStart != c.text || b.TextSource != c.source {
				t.Errorf("TextStart %#x (%s), want %#x (%s)", b.TextStart, b.TextSource, c.text, c.source)
			}
			if !b.Attachable {
				t.Errorf("not attachable: %s", b.Reason)
			}
		})
	}
}
