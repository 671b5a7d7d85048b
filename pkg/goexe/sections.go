package goexe

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
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
// The bytes are read from the file (not the mapping) into a new slice.
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
		if err := b.im.readAt(buf, s.Off+rel); err != nil {
			return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, va, err)
		}
		return buf, nil
	}
	return nil, fmt.Errorf("reading %d bytes at %#x: address in no PT_LOAD segment", n, va)
}

// Section returns a copy of the contents (decompressed when compressed) and
// the address of the named section. Nothing is cached: a large section costs
// its size on every call. Sections over 512 MiB are refused.
func (b *Binary) Section(name string) (data []byte, addr uint64, err error) {
	s := b.ef.section(name)
	if s == nil {
		return nil, 0, fmt.Errorf("section %s: not present", name)
	}
	d, err := b.readSection(s)
	if err != nil {
		return nil, 0, err
	}
	return d, s.Addr, nil
}

func (b *Binary) readSection(s *elf.Section) (data []byte, err error) {
	defer guard(&err, "reading section "+s.Name, debug.SetPanicOnFault(true))
	if s.Flags&elf.SHF_COMPRESSED == 0 && !strings.HasPrefix(s.Name, ".zdebug_") {
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
		return nil, fmt.Errorf("reading section %s: %w: %w", s.Name, err, ErrBadELF)
	}
	return data, nil
}

// DWARF parses all of the binary's DWARF, or returns an error wrapping
// ErrNoDWARF. Nothing is cached and a large binary's DWARF is tens of MiB:
// this is for tests and tools, goexe itself reads only what it needs
// (see dwarfLayout).
func (b *Binary) DWARF() (d *dwarf.Data, err error) {
	defer guard(&err, "reading DWARF", debug.SetPanicOnFault(true))
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
		return nil, fmt.Errorf("parsing DWARF: %w: %w", err, ErrBadELF)
	}
	return d, nil
}
