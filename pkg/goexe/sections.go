package goexe

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrNoDWARF means the binary carries no DWARF debug information (built with
// -ldflags=-w or stripped).
var ErrNoDWARF = errors.New("no DWARF debug information")

// FileOffset converts a link-time virtual address to the file offset the
// kernel's uprobe API takes: off = va - p.Vaddr + p.Off for the PT_LOAD p
// with p.Vaddr <= va < p.Vaddr+p.Filesz.
func (b *Binary) FileOffset(va uint64) (uint64, error) {
	for _, s := range b.Segments {
		if va >= s.Vaddr && va-s.Vaddr < s.Filesz {
			return va - s.Vaddr + s.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no file-backed PT_LOAD segment", va)
}

// ReadVA returns n bytes of the file image at link-time address va. It fails
// for n > 16 MiB and for addresses without file bytes (.bss, .noptrbss).
func (b *Binary) ReadVA(va uint64, n int) ([]byte, error) {
	if n < 0 || n > maxReadVA {
		return nil, fmt.Errorf("reading %d bytes at %#x: size outside [0, %d]", n, va, maxReadVA)
	}
	for _, s := range b.Segments {
		if va < s.Vaddr || va-s.Vaddr >= s.Memsz {
			continue
		}
		rel := va - s.Vaddr
		if rel > s.Filesz || uint64(n) > s.Filesz-rel {
			return nil, fmt.Errorf("reading %d bytes at %#x: beyond the file bytes of its segment (bss)", n, va)
		}
		buf := make([]byte, n)
		if _, err := b.ef.r.ReadAt(buf, int64(s.Off+rel)); err != nil {
			return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, va, err)
		}
		return buf, nil
	}
	return nil, fmt.Errorf("reading %d bytes at %#x: address in no PT_LOAD segment", n, va)
}

type symVal struct{ addr, size uint64 }

// symtabCache holds .symtab, loaded on first use.
type symtabCache struct {
	once sync.Once
	m    map[string]symVal
	err  error
}

// Symbol looks a text or data symbol up in .symtab. ok is false when the
// binary is stripped or has no such symbol. ABI0 bodies of functions that
// also have an ABIInternal wrapper are named with a ".abi0" suffix there.
func (b *Binary) Symbol(name string) (addr, size uint64, ok bool) {
	b.syms.once.Do(func() { b.syms.m, b.syms.err = b.loadSymbols() })
	v, ok := b.syms.m[name]
	return v.addr, v.size, ok
}

func (b *Binary) loadSymbols() (m map[string]symVal, err error) {
	defer guard(&err, "reading .symtab")
	s := b.ef.section(".symtab")
	if s == nil {
		return nil, nil
	}
	if s.Size/24 > maxSymbols {
		return nil, fmt.Errorf(".symtab has %d symbols, over the limit of %d: %w", s.Size/24, maxSymbols, ErrBadELF)
	}
	if int(s.Link) >= len(b.ef.f.Sections) || b.ef.f.Sections[s.Link].Size > maxSectionSize {
		return nil, fmt.Errorf(".symtab string table is missing or too large: %w", ErrBadELF)
	}
	syms, err := b.ef.f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("reading .symtab: %v: %w", err, ErrBadELF)
	}
	m = make(map[string]symVal, len(syms))
	for _, sym := range syms {
		if sym.Section == elf.SHN_UNDEF || sym.Name == "" {
			continue
		}
		if _, dup := m[sym.Name]; !dup {
			m[sym.Name] = symVal{sym.Value, sym.Size}
		}
	}
	return m, nil
}

// sectionCache keeps the sections read through Section.
type sectionCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Section returns the contents (decompressed when SHF_COMPRESSED) and the
// address of the named section. The slice is shared between callers and must
// not be modified. Sections over 512 MiB are refused.
func (b *Binary) Section(name string) (data []byte, addr uint64, err error) {
	s := b.ef.section(name)
	if s == nil {
		return nil, 0, fmt.Errorf("section %s: not present", name)
	}
	if name == ".gopclntab" && b.pclntab != nil {
		return b.pclntab, b.pcAddr, nil
	}
	b.secs.mu.Lock()
	defer b.secs.mu.Unlock()
	if d, ok := b.secs.m[name]; ok {
		return d, s.Addr, nil
	}
	d, err := b.readSection(s)
	if err != nil {
		return nil, 0, err
	}
	if b.secs.m == nil {
		b.secs.m = map[string][]byte{}
	}
	b.secs.m[name] = d
	return d, s.Addr, nil
}

func (b *Binary) readSection(s *elf.Section) (data []byte, err error) {
	defer guard(&err, "reading section "+s.Name)
	if s.Flags&elf.SHF_COMPRESSED == 0 {
		return b.ef.sectionData(s, maxSectionSize)
	}
	n, err := b.ef.decompressedSize(s)
	if err != nil {
		return nil, err
	}
	if n > maxSectionSize {
		return nil, fmt.Errorf("section %s decompresses to %d bytes, over the limit: %w", s.Name, n, ErrBadELF)
	}
	data, err = s.Data()
	if err != nil {
		return nil, fmt.Errorf("reading section %s: %v: %w", s.Name, err, ErrBadELF)
	}
	return data, nil
}

// dwarfCache holds the parsed DWARF, loaded on first use.
type dwarfCache struct {
	once sync.Once
	d    *dwarf.Data
	err  error
}

// DWARF returns the binary's DWARF data, or an error wrapping ErrNoDWARF.
func (b *Binary) DWARF() (*dwarf.Data, error) {
	b.dwarf.once.Do(func() { b.dwarf.d, b.dwarf.err = b.loadDWARF() })
	return b.dwarf.d, b.dwarf.err
}

func (b *Binary) loadDWARF() (d *dwarf.Data, err error) {
	defer guard(&err, "reading DWARF")
	if !b.HasDWARF {
		return nil, ErrNoDWARF
	}
	var total uint64
	for _, s := range b.ef.f.Sections {
		if !strings.HasPrefix(s.Name, ".debug_") && !strings.HasPrefix(s.Name, ".zdebug_") {
			continue
		}
		n, err := b.ef.decompressedSize(s)
		if err != nil {
			return nil, err
		}
		total += n
		if total > maxSectionSize {
			return nil, fmt.Errorf("DWARF sections total over %d bytes: %w", maxSectionSize, ErrBadELF)
		}
	}
	d, err = b.ef.f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("parsing DWARF: %v: %w", err, ErrBadELF)
	}
	return d, nil
}
