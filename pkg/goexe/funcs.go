package goexe

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"runtime/debug"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
)

// Func is one function of the pclntab, at link-time addresses: [Entry, End).
type Func struct {
	Name       string
	Entry, End uint64
}

// Size returns the function's size in bytes (including alignment padding up
// to the next function).
func (f Func) Size() uint64 { return f.End - f.Entry }

// pclntab magic numbers of the supported formats (go1.18–1.19 and go1.20+).
const (
	pclnMagic118 = 0xfffffff0
	pclnMagic120 = 0xfffffff1
)

// loadFuncTable locates .gopclntab and runtime.text, parses the table
// (from the mapping: nothing is copied when the file is mapped) and indexes
// the names of the runtime's functions. It works on stripped binaries.
func (b *Binary) loadFuncTable() error {
	s := b.ef.section(".gopclntab")
	if s == nil {
		return fmt.Errorf("no .gopclntab section (section headers stripped?): %w", ErrUnsupportedGo)
	}
	if s.Type == elf.SHT_NOBITS || s.FileSize > maxPclntabSize {
		return fmt.Errorf(".gopclntab of %d bytes (type %v) is empty or over the %d-byte limit: %w", s.FileSize, s.Type, maxPclntabSize, ErrBadELF)
	}
	var hdr [64]byte
	if s.FileSize < uint64(len(hdr)) {
		return fmt.Errorf(".gopclntab of %d bytes is too short: %w", s.FileSize, ErrBadELF)
	}
	if err := b.im.readAt(hdr[:], s.Offset); err != nil {
		return fmt.Errorf("reading .gopclntab: %w: %w", err, ErrBadELF)
	}
	if err := checkPclnHeader(hdr[:], s.FileSize); err != nil {
		return err
	}
	b.pcAddr, b.pcOff, b.pcSize = s.Addr, s.Offset, s.FileSize
	if err := b.findTextStart(); err != nil {
		return err
	}
	data, err := b.im.view(s.Offset, s.FileSize, maxPclntabSize)
	if err != nil {
		return fmt.Errorf("reading .gopclntab: %w", err)
	}
	quantum := 1
	if b.Arch == ARM64 {
		quantum = 4
	}
	tab, err := pclntab.Parse(data, b.TextStart, 8, quantum)
	if err != nil {
		return fmt.Errorf("decoding .gopclntab: %w: %w", err, ErrBadELF)
	}
	b.tab = tab
	if err := b.names.build(tab, b.pclnReader()); err != nil {
		return fmt.Errorf("decoding .gopclntab: %w: %w", err, ErrBadELF)
	}
	return nil
}

// pclnReader reads .gopclntab through the file, not the mapping.
func (b *Binary) pclnReader() io.ReaderAt {
	return io.NewSectionReader(b.im.r, int64(b.pcOff), int64(b.pcSize))
}

// checkPclnHeader validates the pcHeader (the first 64 bytes of a table of
// size bytes).
func checkPclnHeader(data []byte, size uint64) error {
	magic := binary.LittleEndian.Uint32(data)
	if magic != pclnMagic118 && magic != pclnMagic120 {
		return fmt.Errorf(".gopclntab magic %#x is not a go1.18+ table: %w", magic, ErrUnsupportedGo)
	}
	if magic == pclnMagic118 {
		return fmt.Errorf(".gopclntab of go1.18/go1.19 (magic %#x): %w", magic, ErrUnsupportedGo)
	}
	if data[4] != 0 || data[5] != 0 || (data[6] != 1 && data[6] != 2 && data[6] != 4) || data[7] != 8 {
		return fmt.Errorf(".gopclntab header (quantum %d, pointer size %d) is not a 64-bit table: %w", data[6], data[7], ErrBadELF)
	}
	nfunc := binary.LittleEndian.Uint64(data[8:])
	if nfunc > maxFuncs || nfunc*8 > size {
		return fmt.Errorf(".gopclntab claims %d functions: %w", nfunc, ErrBadELF)
	}
	return nil
}

// Funcs iterates over every pclntab function in table order (ascending
// Entry), stopping at a malformed record. Names may repeat (an ABI wrapper
// and its body share a name). It decodes the whole table: for names, use
// FuncsNamed.
func (b *Binary) Funcs() iter.Seq[Func] {
	return func(yield func(Func) bool) {
		if b.tab == nil {
			return
		}
		for i := range b.tab.NumFuncs() {
			f, ok := b.funcByIndex(i)
			if !ok || !yield(f) {
				return
			}
		}
	}
}

// funcByIndex decodes the i'th function.
func (b *Binary) funcByIndex(i int) (f Func, ok bool) {
	defer recoverTo(b, &ok, debug.SetPanicOnFault(true))
	pf, err := b.tab.Func(i)
	if err != nil {
		return Func{}, false
	}
	return Func{Name: pf.Name, Entry: pf.Entry, End: pf.End}, true
}

// FuncsNamed returns all functions with the pclntab name, in address order.
// For example runtime.reflectcall has two: the ABI0 assembly body and the
// ABIInternal wrapper that .symtab names without the ".abi0" suffix.
// Names of package runtime are indexed; any other name is found by a scan
// of the whole table (a few milliseconds on a large binary).
func (b *Binary) FuncsNamed(name string) (out []Func) {
	if b.tab == nil {
		return nil
	}
	var idx []int
	if indexed(name) {
		idx = b.names.lookup(name)
	} else {
		_ = b.tab.Scan(b.pclnReader(), func(i int, n []byte) bool {
			if string(n) == name {
				idx = append(idx, i)
			}
			return true
		})
	}
	for _, i := range idx {
		if f, ok := b.funcByIndex(i); ok && f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// funcsWithPrefix returns the names of the functions whose name starts with
// prefix, each once, in table order (a scan of the whole table).
func (b *Binary) funcsWithPrefix(prefix string) []string {
	if b.tab == nil {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	_ = b.tab.Scan(b.pclnReader(), func(_ int, n []byte) bool {
		if len(n) >= len(prefix) && string(n[:len(prefix)]) == prefix && !seen[string(n)] {
			seen[string(n)] = true
			names = append(names, string(n))
		}
		return true
	})
	return names
}

// FuncAt returns the function containing the link-time pc.
func (b *Binary) FuncAt(pc uint64) (f Func, ok bool) {
	defer recoverTo(b, &ok, debug.SetPanicOnFault(true))
	if b.tab == nil {
		return Func{}, false
	}
	pf, ok := b.tab.FuncAt(pc)
	if !ok {
		return Func{}, false
	}
	return Func{Name: pf.Name, Entry: pf.Entry, End: pf.End}, true
}
