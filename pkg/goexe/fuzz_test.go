package goexe

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// FuzzOpenReader feeds arbitrary files to the whole inspection. Seeds are
// small so the fuzzer can mutate and minimize them quickly: header regions
// of a real Go binary, and compact ELF files rebuilt from a real binary's
// goexe-relevant sections (build info, build ID, moduledata, the start of
// .text and of .gopclntab). testdata/fuzz/FuzzOpenReader holds a few of
// them; FuzzOpenPatched covers the whole-binary paths.
func FuzzOpenReader(f *testing.F) {
	data := readTarget(f, testutil.Stripped)
	f.Add(data[:0x800])
	f.Add(compactELF(f, data, 0x100))
	f.Add(compactELF(f, data, 0x400))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOpen(t, data)
	})
}

// FuzzOpenPatched overwrites bytes of a whole real binary at an offset and
// optionally truncates it, reaching the function table, decoder and probe
// location on hostile variations of real input.
func FuzzOpenPatched(f *testing.F) {
	orig := readTarget(f, testutil.Stripped)
	ef, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint32(0), []byte{}, uint32(0))
	for _, name := range []string{".gopclntab", ".go.module", ".go.buildinfo", ".text"} {
		if s := ef.Section(name); s != nil {
			f.Add(uint32(s.Offset+8), []byte{0xff, 0xff, 0xff, 0x7f}, uint32(0))
		}
	}
	f.Add(uint32(len(orig)-64*len(ef.Sections)+24), []byte{0, 0, 0, 0x10}, uint32(0))
	f.Add(uint32(0), []byte{}, uint32(4096))
	data := make([]byte, len(orig))
	f.Fuzz(func(t *testing.T, off uint32, patch []byte, cut uint32) {
		data = append(data[:0], orig...)
		copy(data[int(off)%len(data):], patch)
		if cut != 0 {
			data = data[:len(data)-int(cut)%len(data)]
		}
		checkOpen(t, data)
	})
}

// checkOpen opens data and uses every accessor of the result.
func checkOpen(t *testing.T, data []byte) {
	b, err := OpenReader(bytes.NewReader(data), int64(len(data)), "fuzz")
	if err != nil && !isSentinel(err) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	if b == nil {
		return
	}
	b.Symbol("runtime.text")
	_, _ = b.DWARF()
	_, _, _ = b.Section(".gopclntab")
	_, _ = b.ReadVA(b.TextStart, 64)
	i := 0
	for fn := range b.Funcs() {
		if i++; i > 8 {
			break
		}
		_, _ = b.Decode(fn)
		b.FuncAt(fn.Entry)
		b.SPDelta(fn.Entry)
		b.Frames(fn.Entry+1, true)
		b.FuncMetaAt(fn.Entry)
	}
	b.FuncsNamed("runtime.goexit")
	b.FuncsNamed("main.main")
	b.Symbol("main.main")
}

// compactELF rebuilds a small ELF from the sections of a real binary that
// goexe reads, each cut to at most limit bytes and given its own PT_LOAD at
// its original address.
func compactELF(tb testing.TB, orig []byte, limit uint64) []byte {
	tb.Helper()
	ef, err := elf.NewFile(bytes.NewReader(orig))
	if err != nil {
		tb.Fatal(err)
	}
	var keep []*elf.Section
	for _, name := range []string{".text", ".gopclntab", ".note.go.buildid", ".go.buildinfo", ".go.module", ".noptrdata"} {
		if s := ef.Section(name); s != nil {
			keep = append(keep, s)
		}
	}
	shstr := []byte{0}
	body := []byte{}
	const hdr = 64
	phoff := uint64(hdr)
	dataOff := phoff + 56*uint64(len(keep))
	var progs []elf.Prog64
	var shdrs = []elf.Section64{{}}
	for _, s := range keep {
		n := min(s.Size, limit)
		off := dataOff + uint64(len(body))
		body = append(body, orig[s.Offset:s.Offset+n]...)
		for len(body)%8 != 0 {
			body = append(body, 0)
		}
		flags := elf.PF_R
		if s.Flags&elf.SHF_EXECINSTR != 0 {
			flags |= elf.PF_X
		}
		progs = append(progs, elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(flags), Off: off, Vaddr: s.Addr, Paddr: s.Addr, Filesz: n, Memsz: n, Align: 8})
		shdrs = append(shdrs, elf.Section64{Name: uint32(len(shstr)), Type: uint32(s.Type), Flags: uint64(s.Flags), Addr: s.Addr, Off: off, Size: n, Addralign: 8})
		shstr = append(append(shstr, s.Name...), 0)
	}
	shstrOff := dataOff + uint64(len(body))
	shdrs = append(shdrs, elf.Section64{Name: uint32(len(shstr)), Type: uint32(elf.SHT_STRTAB), Off: shstrOff, Size: uint64(len(shstr) + 10), Addralign: 1})
	shstr = append(shstr, ".shstrtab\x00"...)
	body = append(body, shstr...)
	for len(body)%8 != 0 {
		body = append(body, 0)
	}
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: 1, Entry: keep[0].Addr,
		Phoff: phoff, Shoff: dataOff + uint64(len(body)), Ehsize: hdr, Phentsize: 56, Phnum: uint16(len(progs)),
		Shentsize: 64, Shnum: uint16(len(shdrs)), Shstrndx: uint16(len(shdrs) - 1),
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1
	var out bytes.Buffer
	for _, v := range []any{h, progs} {
		if err := binary.Write(&out, binary.LittleEndian, v); err != nil {
			tb.Fatal(err)
		}
	}
	out.Write(body)
	if err := binary.Write(&out, binary.LittleEndian, shdrs); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// FuzzDecode runs both decoders and the probe-shape matchers on arbitrary
// bytes and checks the instruction stream stays consistent.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		{0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0xf6, 0x01, 0x00, 0x00, 0x55},             // amd64 prologue
		{0x48, 0x8b, 0x0a, 0xff, 0xd1, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x09, 0x0b}, // closure call, CALL, LOCK OR
		{0x90, 0xf9, 0x40, 0x0b, 0x90, 0xff, 0x63, 0x30, 0xeb, 0x49, 0x13, 0x00, 0x54}, // arm64 prologue (misaligned)
	} {
		f.Add(false, seed, uint64(0x401000))
		f.Add(true, seed, uint64(0x11000))
	}
	var arm []byte
	for _, w := range []uint32{0xf9400b90, 0xeb3063ff, 0x54001349, 0xb000001b, 0x9100437b, 0xa9400b61, 0xf9400341, 0xd63f0020} {
		arm = binary.LittleEndian.AppendUint32(arm, w)
	}
	f.Add(true, arm, uint64(0x11000))
	f.Add(false, arm, ^uint64(0)-4)
	f.Fuzz(func(t *testing.T, isARM bool, code []byte, pc uint64) {
		arch := AMD64
		if isARM {
			arch = ARM64
		}
		insts := decode(arch, code, pc, nil)
		next, total := pc, 0
		for _, in := range insts {
			if in.Addr != next || in.Len <= 0 || in.Op == "" {
				t.Fatalf("instruction %+v breaks the stream at %#x", in, next)
			}
			next, total = in.Next(), total+in.Len
		}
		want := len(code)
		if isARM {
			want = len(code) &^ 3
		}
		if total != want {
			t.Fatalf("decoded %d of %d bytes", total, want)
		}
		if isARM {
			arm64StackCheck(insts)
		} else {
			x86StackCheck(insts)
		}
		for i := range insts {
			closureCall(arch, insts, i)
			isPadding(insts[i])
		}
	})
}

func TestCompactELF(t *testing.T) {
	data := compactELF(t, readTarget(t, testutil.Stripped), 0x800)
	b, err := openBytes(t, data)
	// The cut .gopclntab is rejected after the build info was read.
	if !errors.Is(err, ErrBadELF) || b == nil || b.GoVersion != testutil.GoInstalled {
		t.Fatalf("compact ELF (%d bytes): %v, %v", len(data), b, err)
	}
}

// TestMain bounds how long the fuzzer minimizes each new input (60 s by
// default). One execution here costs about 1 ms, mostly the coverage
// snapshot of the large instrumented decoders, so a default minimization
// took all of a 20 s -fuzztime run. An explicit -test.fuzzminimizetime wins.
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
