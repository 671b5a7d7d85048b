package goexe

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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
	md := b.finder()
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

// moduledataFinder locates firstmoduledata. Open keeps one (Binary.md) so
// the relocations and the candidates are read once per inspection.
type moduledataFinder struct {
	b                   *Binary
	relas               *relocations // RELATIVE relocations, loaded on first need
	goModDone, dataDone bool         // scanGoModule, scanData ran
	cands               []mdCandidate
	goMod               uint64 // address of a validated .go.module moduledata
	goText              uint64 // its text
}

// mdCandidate is a validated moduledata found by the data scan.
type mdCandidate struct{ addr, text uint64 }

// finder returns the moduledata finder of the running inspection, or a new one.
func (b *Binary) finder() *moduledataFinder {
	if b.md != nil {
		return b.md
	}
	return &moduledataFinder{b: b}
}

// find returns runtime.text from firstmoduledata: the .go.module section
// (go1.26+), else a scan of .noptrdata and .data for a moduledata whose
// pcHeader points at .gopclntab. It returns 0 when no candidate validates and
// an error when candidates disagree.
func (m *moduledataFinder) find() (uint64, string, error) {
	if m.scanGoModule(); m.goMod != 0 {
		return m.goText, "go.module", nil
	}
	if err := m.scanData(); err != nil {
		return 0, "", err
	}
	var found uint64
	for _, c := range m.cands {
		if found != 0 && found != c.text {
			return 0, "", fmt.Errorf("runtime.text: two moduledata candidates disagree (%#x, %#x): %w", found, c.text, ErrUnsupportedGo)
		}
		found = c.text
	}
	if found != 0 {
		return found, "moduledata", nil
	}
	return 0, "", nil
}

// scanGoModule validates the .go.module section (go1.26+) once.
func (m *moduledataFinder) scanGoModule() {
	if m.goModDone {
		return
	}
	m.goModDone = true
	if s := m.b.ef.section(".go.module"); s != nil {
		if t, ok := m.at(s, 0); ok {
			m.goMod, m.goText = s.Addr, t
		}
	}
}

// scanData looks for moduledata candidates in .noptrdata and .data once.
func (m *moduledataFinder) scanData() error {
	if m.dataDone {
		return nil
	}
	m.dataDone = true
	for _, name := range []string{".noptrdata", ".data"} {
		s := m.b.ef.section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		if s.FileSize > maxSectionSize {
			return fmt.Errorf("section %s is %d bytes, over the %d-byte limit: %w", s.Name, s.FileSize, maxSectionSize, ErrBadELF)
		}
		var serr error
		err := m.b.im.scanRecords(s.Offset, s.FileSize, 8, func(i int, w []byte) bool {
			off := uint64(i) * 8
			if off+mdMinSize > s.FileSize || m.word(w, s.Addr+off, 0) != m.b.pcAddr {
				return true
			}
			if t, ok := m.at(s, off); ok {
				m.cands = append(m.cands, mdCandidate{s.Addr + off, t})
				if len(m.cands) > 16 {
					serr = fmt.Errorf("runtime.text: over 16 moduledata candidates: %w", ErrUnsupportedGo)
					return false
				}
			}
			return true
		})
		if err = errors.Join(err, serr); err != nil {
			return err
		}
	}
	return nil
}

// at validates a moduledata at offset off of section s and returns its text.
func (m *moduledataFinder) at(s *elf.Section, off uint64) (uint64, bool) {
	text := m.b.ef.section(".text")
	if text == nil || s.Type == elf.SHT_NOBITS || off+mdMinSize > s.FileSize {
		return 0, false
	}
	buf := make([]byte, mdMinSize)
	if err := m.b.im.readAt(buf, s.Offset+off); err != nil {
		return 0, false
	}
	if m.word(buf, s.Addr+off, mdPcHeaderOff) != m.b.pcAddr {
		return 0, false
	}
	t, etext := m.word(buf, s.Addr+off, mdTextOff), m.word(buf, s.Addr+off, mdEtextOff)
	tStart, tEnd := text.Addr, text.Addr+text.Size
	if t < tStart || t >= tEnd || etext <= t || etext > tEnd {
		return 0, false
	}
	for _, seg := range m.b.Segments {
		if seg.Exec && t >= seg.Vaddr && etext <= seg.Vaddr+seg.Filesz {
			return t, true
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
		m.relas = m.b.loadRelatives()
	}
	return m.relas.addend(base + off)
}

// relocations are the RELATIVE relocations of a position-independent file,
// sorted by place.
type relocations struct{ places, addends []uint64 }

// addend returns the addend of the relocation at place, 0 when none.
func (r *relocations) addend(place uint64) uint64 {
	i, ok := slices.BinarySearch(r.places, place)
	if !ok {
		return 0
	}
	return r.addends[i]
}

// maxRelatives bounds the relocations kept (16 bytes each) while inspecting.
const maxRelatives = 8 << 20

// loadRelatives streams the dynamic relocation sections and keeps the
// RELATIVE entries for places in the sections goexe reads pointers from
// (moduledata, runtime globals such as waitReasonStrings): an 89 MB PIE
// server has 274k RELATIVE relocations, 22k of them there.
func (b *Binary) loadRelatives() *relocations {
	r := &relocations{}
	want := uint32(rX86_64Relative)
	if b.Arch == ARM64 {
		want = rAArch64Relative
	}
	var ranges [][2]uint64
	for _, name := range []string{".go.module", ".noptrdata", ".data"} {
		if s := b.ef.section(name); s != nil {
			ranges = append(ranges, [2]uint64{s.Addr, s.Addr + s.Size})
		}
	}
	inRange := func(a uint64) bool {
		for _, rg := range ranges {
			if a >= rg[0] && a < rg[1] {
				return true
			}
		}
		return false
	}
	for _, s := range b.ef.f.Sections {
		if s.Type != elf.SHT_RELA || s.FileSize > maxSectionSize {
			continue
		}
		_ = b.im.scanRecords(s.Offset, s.FileSize, 24, func(_ int, rec []byte) bool {
			if binary.LittleEndian.Uint64(rec[8:])&0xffffffff == uint64(want) && // ELF64_R_TYPE
				inRange(binary.LittleEndian.Uint64(rec)) {
				r.places = append(r.places, binary.LittleEndian.Uint64(rec))
				r.addends = append(r.addends, binary.LittleEndian.Uint64(rec[16:]))
			}
			return len(r.places) < maxRelatives
		})
	}
	if !slices.IsSorted(r.places) {
		idx := make([]int, len(r.places))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(r.places[i], r.places[j]) })
		places, addends := make([]uint64, len(idx)), make([]uint64, len(idx))
		for k, i := range idx {
			places[k], addends[k] = r.places[i], r.addends[i]
		}
		r.places, r.addends = places, addends
	}
	return r
}
