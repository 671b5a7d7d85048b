package goexe

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// checkDecodedGlobals checks that every global decoded without .symtab is
// at its .symtab address, and that every global the version has is found.
func checkDecodedGlobals(t *testing.T, b *Binary) RuntimeGlobals {
	t.Helper()
	sym := symtabGlobals(b)
	dec := decodeGlobals(b)
	se, de := globalEntries(&sym), globalEntries(&dec)
	for i := range se {
		s, d := se[i].g, de[i].g
		if !s.Known() {
			if d.Known() {
				t.Errorf("%s: decoded %#x (%s) but not in .symtab", se[i].name, d.Addr, d.Source)
			}
			continue
		}
		if !d.Known() {
			t.Errorf("%s: not decoded: %s", se[i].name, d.Err)
			continue
		}
		if d.Addr != s.Addr {
			t.Errorf("%s: decoded %#x (%s), .symtab %#x", se[i].name, d.Addr, d.Source, s.Addr)
		}
		if !strings.HasPrefix(d.Source, "decode:") {
			t.Errorf("%s: source %q", se[i].name, d.Source)
		}
	}
	return sym
}

func TestGlobals(t *testing.T) {
	for _, tc := range []string{testutil.GoInstalled, testutil.GoNext} {
		t.Run(tc, func(t *testing.T) {
			var ref RuntimeGlobals
			for _, m := range testutil.AllModes {
				b := openTarget(t, "idle", testutil.Variant{Toolchain: tc, Mode: m})
				if m == testutil.Stripped {
					continue
				}
				sym := checkDecodedGlobals(t, b)
				for _, e := range globalEntries(&sym) {
					if !e.g.Known() {
						t.Errorf("%s/%s: %s not in .symtab", tc, m, e.name)
					}
				}
				if m == testutil.Default {
					ref = sym
				}
				if b.Globals != sym {
					t.Errorf("%s/%s: Globals %+v, want the .symtab ones", tc, m, b.Globals)
				}
			}
			// -s -w changes .go.buildinfo (the ldflags are recorded), which
			// moves later sections; each global keeps its offset inside
			// its section.
			b := openTarget(t, "idle", testutil.Variant{Toolchain: tc, Mode: testutil.Stripped})
			def := openTarget(t, "idle", testutil.Variant{Toolchain: tc, Mode: testutil.Default})
			got, want := globalEntries(&b.Globals), globalEntries(&ref)
			for i := range got {
				g := got[i].g
				if !strings.HasPrefix(g.Source, "decode:") {
					t.Errorf("stripped %s: %+v", got[i].name, *g)
					continue
				}
				gs, goff := sectionOf(b, g.Addr)
				ws, woff := sectionOf(def, want[i].g.Addr)
				if gs != ws || goff != woff {
					t.Errorf("stripped %s: %s+%#x, default build .symtab %s+%#x", got[i].name, gs, goff, ws, woff)
				}
			}
			// objcopy --strip-all keeps every address: exact equality.
			if objcopy, err := exec.LookPath("objcopy"); err != nil {
				t.Logf("objcopy not installed: strip-copy check not run")
			} else {
				dst := filepath.Join(t.TempDir(), "stripped")
				if out, err := exec.Command(objcopy, "--strip-all", def.Path, dst).CombinedOutput(); err != nil {
					t.Fatalf("objcopy: %v\n%s", err, out)
				}
				sb, err := Open(dst)
				if err != nil {
					t.Fatal(err)
				}
				defer sb.Close()
				if !sb.Stripped {
					t.Fatal("objcopy copy still has .symtab")
				}
				got := globalEntries(&sb.Globals)
				for i := range got {
					if got[i].g.Addr != want[i].g.Addr {
						t.Errorf("strip-all copy %s: %+v, .symtab %#x", got[i].name, *got[i].g, want[i].g.Addr)
					}
				}
			}
			for _, arch := range []Arch{ARM64} {
				b := openCross(t, "idle", tc, arch)
				checkDecodedGlobals(t, b)
			}
		})
	}
	// Binaries of other toolchains or architectures, colon-separated.
	if extra := os.Getenv("MEMSIGHT_GOEXE_BINARIES"); extra != "" {
		for _, p := range strings.Split(extra, ":") {
			t.Run(filepath.Base(p), func(t *testing.T) {
				b, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				checkDecodedGlobals(t, b)
			})
		}
	}
}

// sectionOf names the section holding addr and the offset inside it.
func sectionOf(b *Binary, addr uint64) (string, uint64) {
	for _, s := range b.ef.f.Sections {
		if s.Addr != 0 && addr >= s.Addr && addr < s.Addr+s.Size {
			return s.Name, addr - s.Addr
		}
	}
	return "?", addr
}
