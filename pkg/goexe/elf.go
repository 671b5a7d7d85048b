package goexe

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Parsing limits. Binaries are untrusted: every size read from a header is
// checked against one of these before memory is allocated for it.
const (
	// maxSectionSize bounds one section read into memory. The largest Go
	// binaries seen in the wild are a few hundred MiB in total.
	maxSectionSize = 512 << 20
	// maxPclntabSize bounds .gopclntab; real ones are a few MiB to ~100 MiB.
	maxPclntabSize = 256 << 20
	// maxSymbols bounds .symtab (Kubernetes binaries have ~200k symbols).
	maxSymbols = 10_000_000
	// maxFuncs bounds the pclntab function count.
	maxFuncs = 2_000_000
	// maxReadVA bounds one ReadVA call.
	maxReadVA = 16 << 20
	// maxFuncDecode bounds the size of one function body Decode accepts.
	maxFuncDecode = 64 << 10
	// maxNoteSize bounds a build ID note section.
	maxNoteSize = 4 << 10
	// minELFSize is the size of an ELF64 header.
	minELFSize = 64
)

// elfFile is the hardened wrapper around debug/elf: only ELF64
// little-endian x86-64/aarch64 executables, every read bounded, every call
// that may panic on hostile input guarded.
type elfFile struct {
	f    *elf.File
	r    io.ReaderAt
	size int64
}

// openELF parses the ELF headers of r and checks the file is one memsight can
// inspect.
func openELF(r io.ReaderAt, size int64) (ef *elfFile, err error) {
	defer guard(&err, "parsing ELF headers", debug.SetPanicOnFault(true))
	if size < minELFSize {
		return nil, fmt.Errorf("file of %d bytes is too small for an ELF header: %w", size, ErrBadELF)
	}
	var magic [4]byte
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return nil, fmt.Errorf("reading ELF magic: %w: %w", err, ErrBadELF)
	}
	if !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("no ELF magic: %w", ErrBadELF)
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("parsing ELF: %w: %w", err, ErrBadELF)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("ELF class %v, data %v (need 64-bit little-endian): %w", f.Class, f.Data, ErrBadELF)
	}
	if f.Machine != elf.EM_X86_64 && f.Machine != elf.EM_AARCH64 {
		return nil, fmt.Errorf("ELF machine %v (need x86-64 or aarch64): %w", f.Machine, ErrBadELF)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return nil, fmt.Errorf("ELF type %v is not an executable: %w", f.Type, ErrBadELF)
	}
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.FileSize > 0 && (s.Offset > uint64(size) || s.FileSize > uint64(size)-s.Offset) {
			return nil, fmt.Errorf("section %q [%#x, +%#x) extends past the end of the %d-byte file: %w",
				s.Name, s.Offset, s.FileSize, size, ErrBadELF)
		}
	}
	return &elfFile{f: f, r: r, size: size}, nil
}

func (ef *elfFile) arch() Arch {
	if ef.f.Machine == elf.EM_AARCH64 {
		return ARM64
	}
	return AMD64
}

// section returns the named section header, or nil.
func (ef *elfFile) section(name string) *elf.Section {
	return ef.f.Section(name)
}

// sectionData reads a section's file bytes (raw, not decompressed), at most
// limit bytes.
func (ef *elfFile) sectionData(s *elf.Section, limit uint64) ([]byte, error) {
	if s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("section %s has no file data: %w", s.Name, ErrBadELF)
	}
	if s.FileSize > limit {
		return nil, fmt.Errorf("section %s is %d bytes, over the %d-byte limit: %w", s.Name, s.FileSize, limit, ErrBadELF)
	}
	if s.Offset > uint64(ef.size) || s.FileSize > uint64(ef.size)-s.Offset {
		return nil, fmt.Errorf("section %s extends past the end of the file: %w", s.Name, ErrBadELF)
	}
	buf := make([]byte, s.FileSize)
	if _, err := ef.r.ReadAt(buf, int64(s.Offset)); err != nil && !(errors.Is(err, io.EOF) && s.FileSize == 0) {
		return nil, fmt.Errorf("reading section %s: %w: %w", s.Name, err, ErrBadELF)
	}
	return buf, nil
}

// decompressedSize returns the size a section has after decompression (its
// file size when it is not compressed).
func (ef *elfFile) decompressedSize(s *elf.Section) (uint64, error) {
	if s.Flags&elf.SHF_COMPRESSED == 0 && strings.HasPrefix(s.Name, ".zdebug_") {
		// Old-style GNU compression: "ZLIB" and a big-endian size.
		var hdr [12]byte
		if _, err := ef.r.ReadAt(hdr[:], int64(s.Offset)); err != nil || string(hdr[:4]) != "ZLIB" {
			return 0, fmt.Errorf("section %s has no ZLIB header: %w", s.Name, ErrBadELF)
		}
		return binary.BigEndian.Uint64(hdr[4:]), nil
	}
	// debug/elf already replaced Size by the Elf64_Chdr's ch_size for
	// SHF_COMPRESSED sections (FileSize is the size in the file).
	return s.Size, nil
}

// progs returns the PT_LOAD segments.
func (ef *elfFile) segments() []Segment {
	var segs []Segment
	for _, p := range ef.f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		segs = append(segs, Segment{
			Vaddr: p.Vaddr, Memsz: p.Memsz, Off: p.Off, Filesz: p.Filesz,
			Exec: p.Flags&elf.PF_X != 0,
		})
	}
	return segs
}

// buildID returns the Go build ID (from .note.go.buildid) or, when absent,
// the hex GNU build ID (from .note.gnu.build-id); "" when neither exists.
func (ef *elfFile) buildID() string {
	if s := ef.section(".note.go.buildid"); s != nil {
		if desc, ok := ef.note(s, "Go", 4); ok {
			return string(desc)
		}
	}
	if s := ef.section(".note.gnu.build-id"); s != nil {
		if desc, ok := ef.note(s, "GNU", 3); ok {
			return fmt.Sprintf("%x", desc)
		}
	}
	return ""
}

// note parses the first note in s and returns its descriptor when its name
// and type match.
func (ef *elfFile) note(s *elf.Section, name string, typ uint32) ([]byte, bool) {
	data, err := ef.sectionData(s, maxNoteSize)
	if err != nil || len(data) < 12 {
		return nil, false
	}
	namesz := uint64(binary.LittleEndian.Uint32(data[0:]))
	descsz := uint64(binary.LittleEndian.Uint32(data[4:]))
	if binary.LittleEndian.Uint32(data[8:]) != typ {
		return nil, false
	}
	nameEnd := 12 + namesz
	descOff := 12 + (namesz+3)&^3
	if nameEnd > uint64(len(data)) || descOff > uint64(len(data)) || descsz > uint64(len(data))-descOff {
		return nil, false
	}
	if string(bytes.TrimRight(data[12:nameEnd], "\x00")) != name {
		return nil, false
	}
	return data[descOff : descOff+descsz], true
}
