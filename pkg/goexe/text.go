package goexe

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Offsets in runtime.moduledata, identical in go1.20 to go1.27 on 64-bit
// targets: pcHeader *pcHeader at 0, text at 176, etext at 184.
const (
	mdPcHeaderOff = 0
	mdTextOff     = 176
	mdEtextOff    = 184
	mdMinSize     = mdEtextOff + 8
)

// Dynamic relocation types whose addend is the link-time value of a pointer.
const (
	rX86_64Relative  = 8
	rAArch64Relative = 1027
)

// findTextStart sets TextStart and TextSource: the runtime.text address that
// pclntab function entries are relative to. External linking (cgo) puts C
// start-up code at the start of .text, so .text and runtime.text differ.
func (b *Binary) findTextStart() error {
	text := b.ef.section(".text")
	if text == nil {
		return fmt.Errorf("no .text section: %w", ErrUnsupportedGo)
	}
	md := moduledataFinder{b: b, text: text}
	addr, src, err := md.find()
	if err != nil {
		return err
	}
	sym, _, hasSym := b.Symbol("runtime.text")
	switch {
	case addr != 0 && hasSym && sym != addr:
		addr, src = sym, fmt.Sprintf("symtab (%s said %#x)", src, addr)
	case addr != 0:
	case hasSym:
		addr, src = sym, "symtab"
	case !b.externalLinking():
		addr, src = text.Addr, ".text section (internal linking)"
	default:
		return fmt.Errorf("runtime.text: no moduledata, no .symtab, and the binary may be externally linked so .text is not usable: %w", ErrUnsupportedGo)
	}
	b.TextStart, b.TextSource = addr, src
	return nil
}

type moduledataFinder struct {
	b     *Binary
	text  *elf.Section
	relas map[uint64]uint64 // RELATIVE relocations: place -> addend, loaded lazily
}

// find returns runtime.text from firstmoduledata: the .go.module section
// (go1.26+), else a scan of .noptrdata and .data for a moduledata whose
// pcHeader points at .gopclntab. It returns 0 when no candidate validates and
// an error when candidates disagree.
func (m *moduledataFinder) find() (uint64, string, error) {
	if s := m.b.ef.section(".go.module"); s != nil {
		if t, ok := m.at(s, 0); ok {
			return t, "go.module", nil
		}
	}
	var found uint64
	for _, name := range []string{".noptrdata", ".data"} {
		s := m.b.ef.section(name)
		if s == nil {
			continue
		}
		data, err := m.b.ef.sectionData(s, maxSectionSize)
		if err != nil {
			return 0, "", err
		}
		for off := uint64(0); off+mdMinSize <= uint64(len(data)); off += 8 {
			if m.word(data, s.Addr, off+mdPcHeaderOff) != m.b.pcAddr {
				continue
			}
			t, ok := m.at(s, off)
			if !ok {
				continue
			}
			if found != 0 && found != t {
				return 0, "", fmt.Errorf("runtime.text: two moduledata candidates disagree (%#x, %#x): %w", found, t, ErrUnsupportedGo)
			}
			found = t
		}
	}
	if found != 0 {
		return found, "moduledata", nil
	}
	return 0, "", nil
}

// at validates a moduledata at offset off of section s and returns its text.
func (m *moduledataFinder) at(s *elf.Section, off uint64) (uint64, bool) {
	if s.Type == elf.SHT_NOBITS || off+mdMinSize > s.FileSize {
		return 0, false
	}
	buf := make([]byte, mdMinSize)
	if _, err := m.b.ef.r.ReadAt(buf, int64(s.Offset+off)); err != nil {
		return 0, false
	}
	if m.word(buf, s.Addr+off, mdPcHeaderOff) != m.b.pcAddr {
		return 0, false
	}
	text, etext := m.word(buf, s.Addr+off, mdTextOff), m.word(buf, s.Addr+off, mdEtextOff)
	tStart, tEnd := m.text.Addr, m.text.Addr+m.text.Size
	if text < tStart || text >= tEnd || etext <= text || etext > tEnd {
		return 0, false
	}
	for _, seg := range m.b.Segments {
		if seg.Exec && text >= seg.Vaddr && etext <= seg.Vaddr+seg.Filesz {
			return text, true
		}
	}
	return 0, false
}

// word reads the pointer at data[off:], which lives at address base+off. A
// position-independent file may hold 0 there and the value in a RELATIVE
// relocation's addend instead; that is used when present.
func (m *moduledataFinder) word(data []byte, base, off uint64) uint64 {
	if off+8 > uint64(len(data)) {
		return 0
	}
	v := binary.LittleEndian.Uint64(data[off:])
	if v != 0 || !m.b.PIE {
		return v
	}
	if m.relas == nil {
		m.relas = m.loadRelatives()
	}
	return m.relas[base+off]
}

// loadRelatives reads the RELATIVE entries of the dynamic relocation sections.
func (m *moduledataFinder) loadRelatives() map[uint64]uint64 {
	out := map[uint64]uint64{}
	want := uint32(rX86_64Relative)
	if m.b.Arch == ARM64 {
		want = rAArch64Relative
	}
	for _, s := range m.b.ef.f.Sections {
		if s.Type != elf.SHT_RELA {
			continue
		}
		data, err := m.b.ef.sectionData(s, maxSectionSize)
		if err != nil {
			continue
		}
		for i := 0; i+24 <= len(data); i += 24 {
			if uint32(binary.LittleEndian.Uint64(data[i+8:])) == want {
				out[binary.LittleEndian.Uint64(data[i:])] = binary.LittleEndian.Uint64(data[i+16:])
			}
		}
	}
	return out
}
