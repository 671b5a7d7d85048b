package goexe

import (
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"sort"
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

// loadFuncTable reads .gopclntab, locates runtime.text and builds the sorted
// function table. It works on stripped binaries.
func (b *Binary) loadFuncTable() (err error) {
	defer guard(&err, "reading .gopclntab")
	s := b.ef.section(".gopclntab")
	if s == nil {
		return fmt.Errorf("no .gopclntab section (section headers stripped?): %w", ErrUnsupportedGo)
	}
	data, err := b.ef.sectionData(s, maxPclntabSize)
	if err != nil {
		return err
	}
	if err := checkPclnHeader(data); err != nil {
		return err
	}
	b.pclntab, b.pcAddr = data, s.Addr
	if err := b.findTextStart(); err != nil {
		return err
	}
	lt := gosym.NewLineTable(data, b.TextStart)
	tab, err := gosym.NewTable(nil, lt)
	if err != nil {
		return fmt.Errorf("decoding .gopclntab: %v: %w", err, ErrBadELF)
	}
	funcs := make([]Func, 0, len(tab.Funcs))
	for _, f := range tab.Funcs {
		if f.End < f.Entry {
			return fmt.Errorf("function %s ends (%#x) before it starts (%#x): %w", f.Name, f.End, f.Entry, ErrBadELF)
		}
		funcs = append(funcs, Func{Name: f.Name, Entry: f.Entry, End: f.End})
	}
	sort.SliceStable(funcs, func(i, j int) bool { return funcs[i].Entry < funcs[j].Entry })
	b.funcs = funcs
	b.byName = make(map[string][]int, len(funcs))
	for i, f := range funcs {
		b.byName[f.Name] = append(b.byName[f.Name], i)
	}
	return nil
}

// checkPclnHeader validates the pcHeader before debug/gosym sizes anything
// from it.
func checkPclnHeader(data []byte) error {
	if len(data) < 64 {
		return fmt.Errorf(".gopclntab of %d bytes is too short: %w", len(data), ErrBadELF)
	}
	magic := binary.LittleEndian.Uint32(data)
	if magic != pclnMagic118 && magic != pclnMagic120 {
		return fmt.Errorf(".gopclntab magic %#x is not a go1.18+ table: %w", magic, ErrUnsupportedGo)
	}
	if data[4] != 0 || data[5] != 0 || (data[6] != 1 && data[6] != 2 && data[6] != 4) || data[7] != 8 {
		return fmt.Errorf(".gopclntab header (quantum %d, pointer size %d) is not a 64-bit table: %w", data[6], data[7], ErrBadELF)
	}
	nfunc := binary.LittleEndian.Uint64(data[8:])
	if nfunc > maxFuncs || nfunc*8 > uint64(len(data)) {
		return fmt.Errorf(".gopclntab claims %d functions: %w", nfunc, ErrBadELF)
	}
	return nil
}

// Funcs returns every pclntab function sorted by Entry. Names may repeat
// (an ABI wrapper and its body share a name). The slice must not be modified.
func (b *Binary) Funcs() []Func { return b.funcs }

// FuncsNamed returns all functions with the pclntab name, in address order.
// For example runtime.reflectcall has two: the ABI0 assembly body and the
// ABIInternal wrapper that .symtab names without the ".abi0" suffix.
func (b *Binary) FuncsNamed(name string) []Func {
	idx := b.byName[name]
	out := make([]Func, len(idx))
	for i, j := range idx {
		out[i] = b.funcs[j]
	}
	return out
}

// FuncAt returns the function containing the link-time pc.
func (b *Binary) FuncAt(pc uint64) (Func, bool) {
	i := sort.Search(len(b.funcs), func(i int) bool { return b.funcs[i].Entry > pc }) - 1
	if i < 0 || pc >= b.funcs[i].End {
		return Func{}, false
	}
	return b.funcs[i], true
}
