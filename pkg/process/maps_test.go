package process

import (
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// firstLoad returns p_vaddr and p_offset of the first PT_LOAD of exe. (Tests
// only: the package itself never parses executables.)
func firstLoad(t *testing.T, exe string) (vaddr, off uint64, typ elf.Type) {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			return p.Vaddr, p.Off, f.Type
		}
	}
	t.Fatalf("%s has no PT_LOAD", exe)
	return 0, 0, 0
}

// nmAddr returns the link-time address of sym according to go tool nm.
func nmAddr(t *testing.T, exe, sym string) uint64 {
	t.Helper()
	out, err := exec.Command("go", "tool", "nm", exe).Output()
	if err != nil {
		t.Fatalf("go tool nm %s: %v", exe, err)
	}
	for l := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[2] == sym {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("%s not in go tool nm %s", sym, exe)
	return 0
}

func TestLoadBiasRealProcess(t *testing.T) {
	r := newReader(t)
	for _, tc := range []struct {
		name    string
		pie     bool
		elfType elf.Type
	}{
		{"pie", true, elf.ET_DYN},
		{"exec", false, elf.ET_EXEC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exe := buildSelfaddr(t, tc.pie)
			vaddr, off, typ := firstLoad(t, exe)
			if typ != tc.elfType {
				t.Fatalf("built %v, want %v", typ, tc.elfType)
			}
			link := nmAddr(t, exe, "main.main")
			tg := startSelfaddr(t, exe)

			maps, err := r.ExeMappings(tg.Pid)
			if err != nil {
				t.Fatal(err)
			}
			if len(maps) == 0 {
				t.Fatal("no mappings of the executable")
			}
			text := false
			for _, m := range maps {
				if m.Path != exe {
					t.Errorf("mapping %+v: path is not %s", m, exe)
				}
				text = text || m.Perms == "r-xp" && m.Start <= tg.main && tg.main < m.End
			}
			if !text {
				t.Errorf("main.main at %#x is in no r-xp mapping of %+v", tg.main, maps)
			}
			bias, ok := LoadBias(maps, vaddr, off)
			if !ok {
				t.Fatalf("LoadBias(%+v, %#x, %#x) not ok", maps, vaddr, off)
			}
			if got := link + bias; got != tg.main {
				t.Errorf("main.main: link %#x + bias %#x = %#x, target printed %#x", link, bias, got, tg.main)
			}
			if tc.pie == (bias == 0) {
				t.Errorf("bias %#x for pie=%v", bias, tc.pie)
			}

			dev, ino, err := r.ExeKey(tg.Pid)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(exe)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if dev != st.Dev || ino != st.Ino {
				t.Errorf("ExeKey = (%d, %d), stat says (%d, %d)", dev, ino, st.Dev, st.Ino)
			}
		})
	}
}

func TestExeMappingsDeletedExecutable(t *testing.T) {
	r := newReader(t)
	exe := buildSelfaddr(t, true)
	vaddr, off, _ := firstLoad(t, exe)
	link := nmAddr(t, exe, "main.main")
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	tg := startSelfaddr(t, exe)
	if err := os.Remove(exe); err != nil {
		t.Fatal(err)
	}

	p, err := r.Get(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := exe + " (deleted)"; p.Exe != want {
		t.Errorf("Exe = %q, want %q", p.Exe, want)
	}
	maps, err := r.ExeMappings(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) == 0 {
		t.Fatal("no mappings of the deleted executable")
	}
	bias, ok := LoadBias(maps, vaddr, off)
	if !ok || link+bias != tg.main {
		t.Errorf("bias %#x (ok=%v): main.main at %#x, target printed %#x", bias, ok, link+bias, tg.main)
	}
	_, ino, err := r.ExeKey(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := fi.Sys().(*syscall.Stat_t).Ino; ino != want {
		t.Errorf("ExeKey inode %d, the file had %d", ino, want)
	}
}

func TestLoadBias(t *testing.T) {
	pie := []Mapping{
		{Start: 0x7f0000002000, End: 0x7f0000003000, Offset: 0x2000},
		{Start: 0x55d4c2a00000, End: 0x55d4c2b00000, Offset: 0},
		{Start: 0x55d4c2b00000, End: 0x55d4c2e00000, Offset: 0x100000},
	}
	for _, tc := range []struct {
		name       string
		maps       []Mapping
		vaddr, off uint64
		bias       uint64
		ok         bool
	}{
		{"go pie (first PT_LOAD at 0x400000)", pie, 0x400000, 0, 0x55d4c2600000, true},
		{"gcc pie (first PT_LOAD at 0)", pie, 0, 0, 0x55d4c2a00000, true},
		{"exec", []Mapping{{Start: 0x400000, End: 0x4aa000, Offset: 0}}, 0x400000, 0, 0, true},
		{"two offset-0 mappings: lowest wins", append([]Mapping{{Start: 0x7f1000000000, Offset: 0}}, pie...), 0, 0, 0x55d4c2a00000, true},
		{"no offset 0", pie[2:], 0, 0, 0, false},
		{"empty", nil, 0x400000, 0, 0, false},
		{"negative bias", []Mapping{{Start: 0x1000, Offset: 0}}, 0x400000, 0, 0, false},
		{"vaddr below offset", pie, 0, 0x1000, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bias, ok := LoadBias(tc.maps, tc.vaddr, tc.off)
			if bias != tc.bias || ok != tc.ok {
				t.Errorf("LoadBias = %#x, %v; want %#x, %v", bias, ok, tc.bias, tc.ok)
			}
		})
	}
}

func TestExeMappingsFixture(t *testing.T) {
	r := fixtureReader(t)
	maps, err := r.ExeMappings(4242)
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{0x55d4c2a00000, 0x55d4c2b00000, 0, "r--p", 0xfd01, 1234567, "/usr/local/bin/fixture-app (deleted)"},
		{0x55d4c2b00000, 0x55d4c2e00000, 0x100000, "r-xp", 0xfd01, 1234567, "/usr/local/bin/fixture-app (deleted)"},
		{0x55d4c2e00000, 0x55d4c2f00000, 0x400000, "r--p", 0xfd01, 1234567, "/usr/local/bin/fixture-app (deleted)"},
		{0x55d4c2f00000, 0x55d4c2f20000, 0x500000, "rw-p", 0xfd01, 1234567, "/usr/local/bin/fixture-app (deleted)"},
	}
	if len(maps) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(maps), len(want), maps)
	}
	for i := range want {
		if maps[i] != want[i] {
			t.Errorf("mapping %d:\n got  %+v\n want %+v", i, maps[i], want[i])
		}
	}
	// The fixture's exe link points at a file that does not exist here.
	if _, _, err := r.ExeKey(4242); err == nil || errors.Is(err, ErrNoProcess) {
		t.Errorf("ExeKey of a dangling exe link: %v, want an error other than ErrNoProcess", err)
	}
	if _, err := r.ExeMappings(31337); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ExeMappings(31337) = %v, want ErrNoProcess", err)
	}
	if _, _, err := r.ExeKey(31337); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ExeKey(31337) = %v, want ErrNoProcess", err)
	}
}
