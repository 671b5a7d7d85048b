package goexe

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// openBytes runs OpenReader on data, failing the test on a panic escaping it.
func openBytes(t *testing.T, data []byte) (*Binary, error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("OpenReader panicked: %v", p)
		}
	}()
	return OpenReader(bytes.NewReader(data), int64(len(data)), "corrupt")
}

func isSentinel(err error) bool {
	return errors.Is(err, ErrBadELF) || errors.Is(err, ErrNotGo) || errors.Is(err, ErrUnsupportedGo)
}

func TestOpenNotGo(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\necho hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want error
	}{
		{text, ErrBadELF},
		{empty, ErrBadELF},
		{"/bin/true", ErrNotGo},
	}
	for _, c := range cases {
		b, err := Open(c.path)
		if !errors.Is(err, c.want) || b != nil {
			t.Errorf("Open(%s) = %v, %v; want %v", c.path, b, err, c.want)
		}
	}
	if _, err := Open(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(absent) = %v", err)
	}
}

// TestOpenTruncated opens prefixes of a real Go binary: every one must fail
// with a sentinel error (not panic).
func TestOpenTruncated(t *testing.T) {
	data := readTarget(t, testutil.Stripped)
	n := len(data)
	for _, size := range []int{0, 1, 4, 16, 63, 64, 65, 120, 500, 4096, 0x10000, n / 4, n / 2, 3 * n / 4, n - 4096, n - 1} {
		_, err := openBytes(t, data[:size])
		if !isSentinel(err) {
			t.Errorf("truncated to %d bytes: err = %v", size, err)
		}
	}
}

// TestOpenFlippedHeaders flips bytes of the ELF, program and section headers
// and of the pclntab and build info headers. Results may be errors or
// successes but never panics, and errors wrap a sentinel.
func TestOpenFlippedHeaders(t *testing.T) {
	orig := readTarget(t, testutil.Stripped)
	f, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		t.Fatal(err)
	}
	type region struct {
		off, n uint64
		xors   []byte
	}
	all, one := []byte{0xff, 0x80, 0x01}, []byte{0xff}
	regions := []region{{0, 64, all}, {64, 56 * uint64(len(f.Progs)), one}}
	// Section headers of the sections goexe reads.
	shoff := uint64(len(orig)) - 64*uint64(len(f.Sections))
	for i, s := range f.Sections {
		switch s.Name {
		case ".text", ".gopclntab", ".go.buildinfo", ".go.module", ".note.go.buildid", ".shstrtab", ".noptrdata":
			regions = append(regions, region{shoff + 64*uint64(i), 64, one})
		}
	}
	for _, name := range []string{".gopclntab", ".go.buildinfo", ".go.module", ".note.go.buildid"} {
		if s := f.Section(name); s != nil {
			regions = append(regions, region{s.Offset, min(s.Size, 64), one})
		}
	}
	type mutation struct {
		off uint64
		x   byte
	}
	var muts []mutation
	for _, r := range regions {
		for off := r.off; off < r.off+r.n && off < uint64(len(orig)); off++ {
			for _, x := range r.xors {
				muts = append(muts, mutation{off, x})
			}
		}
	}
	// Two workers: each Open costs a few ms.
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := make([]byte, len(orig))
			for i := w; i < len(muts); i += 2 {
				copy(data, orig)
				data[muts[i].off] ^= muts[i].x
				_, err := OpenReader(bytes.NewReader(data), int64(len(data)), "corrupt")
				if err != nil {
					failed.Add(1)
					if !isSentinel(err) {
						t.Errorf("byte %#x ^ %#x: error %v wraps no sentinel", muts[i].off, muts[i].x, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	tried := len(muts)
	t.Logf("%d mutations, %d rejected", tried, failed.Load())
}

// TestOpenUnsupportedVersion edits the version string in the build info: the
// Binary is still returned with its version fields for display.
func TestOpenUnsupportedVersion(t *testing.T) {
	for _, v := range []string{"go1.19.8", "go1.28.0"} {
		data := readTarget(t, testutil.Stripped)
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		bi := f.Section(".go.buildinfo")
		i := bytes.Index(data[bi.Offset:bi.Offset+bi.Size], []byte(testutil.GoInstalled))
		if i < 0 {
			t.Fatal("version string not found in .go.buildinfo")
		}
		copy(data[bi.Offset+uint64(i):], v)
		b, err := openBytes(t, data)
		if !errors.Is(err, ErrUnsupportedGo) || b == nil {
			t.Fatalf("%s: %v", v, err)
		}
		want, _ := ParseVersion(v)
		if b.GoVersion != v || b.Version != want || b.Attachable || b.Reason == "" || b.MainModule == "" {
			t.Errorf("%s: GoVersion %q Version %v Attachable %v Reason %q MainModule %q", v, b.GoVersion, b.Version, b.Attachable, b.Reason, b.MainModule)
		}
	}
}

func readTarget(t testing.TB, mode testutil.Mode) []byte {
	t.Helper()
	data, err := os.ReadFile(testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: mode}))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in   string
		want Version
		ok   bool
	}{
		{"go1.26.8", Version{1, 26, 8}, true},
		{"go1.27.3 X:nodwarf5", Version{1, 27, 3}, true},
		{"go1.26.8-X:goroutineleakprofile", Version{1, 26, 8}, true},
		{"go1.26", Version{1, 26, 0}, true},
		{"go1.27rc1", Version{1, 27, 0}, true},
		{"go1.21.0", Version{1, 21, 0}, true},
		{"devel go1.27-abcdef", Version{}, false},
		{"1.26.8", Version{}, false},
		{"go1", Version{}, false},
		{"go1.26.8.1", Version{}, false},
		{"go1.x.2", Version{}, false},
		{"go1.026.1", Version{}, false},
		{"", Version{}, false},
	}
	for _, c := range cases {
		got, ok := ParseVersion(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if !(Version{1, 26, 8}).AtLeast(1, 26) || (Version{1, 24, 9}).AtLeast(1, 25) || (Version{1, 26, 8}).String() != "go1.26.8" {
		t.Error("Version methods")
	}
}
