package goexe

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
)

// symSize is the size of an Elf64_Sym.
const symSize = 24

// symtabIndex finds symbols in .symtab without loading it: the names of
// package runtime (the globals memsight reads, runtime.text, ...) are
// indexed by hash, 8 bytes each whatever the size of the binary, and any
// other name is found by a scan of the table.
type symtabIndex struct {
	once     sync.Once
	err      error
	sym, str *elf.Section // .symtab and its string table; nil when stripped
	keys     []uint64     // hash<<32 | symbol index, sorted
}

// symPrefix is the prefix of the indexed symbol names.
const symPrefix = "runtime."

// maxIndexedStrings bounds the string table offsets where an indexed name
// starts (a large binary has about 10k).
const maxIndexedStrings = 1 << 20

// Symbol looks a text or data symbol up in .symtab. ok is false when the
// binary is stripped or has no such symbol. ABI0 bodies of functions that
// also have an ABIInternal wrapper are named with a ".abi0" suffix there.
// When several symbols have the name, the first in the table wins.
func (b *Binary) Symbol(name string) (addr, size uint64, ok bool) {
	x := &b.syms
	x.once.Do(func() { x.err = b.indexSymbols() })
	if x.err != nil || x.sym == nil || name == "" {
		return 0, 0, false
	}
	var err error
	if strings.HasPrefix(name, symPrefix) {
		addr, size, ok, err = b.symbolIndexed(name)
	} else {
		addr, size, ok, err = b.symbolScan(name)
	}
	return addr, size, ok && err == nil
}

// indexSymbols validates .symtab and indexes the runtime's symbols: one pass
// over the string table finds the offsets where runtime names start (also
// inside longer strings: a linker may share a string's tail), one pass over
// the symbols keeps those that use them.
func (b *Binary) indexSymbols() (err error) {
	defer guard(&err, "reading .symtab", debug.SetPanicOnFault(true))
	x := &b.syms
	sym, str, err := b.symtabSections()
	if err != nil || sym == nil {
		return err
	}
	type cand struct{ off, hash uint32 }
	var cands []cand // in string table order
	prefix := []byte(symPrefix)
	err = b.im.scanStrings(str.Offset, str.FileSize, func(at uint64, s []byte) bool {
		for k := 0; ; {
			i := bytes.Index(s[k:], prefix)
			if i < 0 {
				return true
			}
			k += i
			cands = append(cands, cand{uint32(at) + uint32(k), nameHash(s[k:])})
			if len(cands) > maxIndexedStrings {
				return false
			}
			k++
		}
	})
	if err == nil && len(cands) > maxIndexedStrings {
		err = fmt.Errorf(".symtab string table has over %d names of package runtime: %w", maxIndexedStrings, ErrBadELF)
	}
	if err != nil {
		return err
	}
	var keys []uint64
	err = b.im.scanRecords(sym.Offset, sym.FileSize, symSize, func(j int, rec []byte) bool {
		if j == 0 || binary.LittleEndian.Uint16(rec[6:]) == uint16(elf.SHN_UNDEF) {
			return true
		}
		off := binary.LittleEndian.Uint32(rec)
		i, found := slices.BinarySearchFunc(cands, off, func(c cand, off uint32) int { return int(int64(c.off) - int64(off)) })
		if found {
			keys = append(keys, uint64(cands[i].hash)<<32|uint64(uint32(j)))
		}
		return true
	})
	if err != nil {
		return err
	}
	slices.Sort(keys)
	x.sym, x.str, x.keys = sym, str, slices.Clone(keys)
	return nil
}

// symtabSections returns .symtab and its string table, checked against the
// parsing limits; nil when the binary has no .symtab.
func (b *Binary) symtabSections() (sym, str *elf.Section, err error) {
	sym = b.ef.section(".symtab")
	if sym == nil {
		return nil, nil, nil
	}
	if sym.Type != elf.SHT_SYMTAB || sym.FileSize/symSize > maxSymbols || sym.FileSize > uint64(maxSymbols)*symSize {
		return nil, nil, fmt.Errorf(".symtab (type %v, %d bytes) is not a symbol table within the limit of %d symbols: %w", sym.Type, sym.FileSize, maxSymbols, ErrBadELF)
	}
	if int(sym.Link) >= len(b.ef.f.Sections) {
		return nil, nil, fmt.Errorf(".symtab string table is missing: %w", ErrBadELF)
	}
	str = b.ef.f.Sections[sym.Link]
	if str.Type != elf.SHT_STRTAB || str.FileSize > maxSectionSize || str.FileSize >= 1<<32 {
		return nil, nil, fmt.Errorf(".symtab string table (type %v, %d bytes) is not a string table within the limit: %w", str.Type, str.FileSize, ErrBadELF)
	}
	return sym, str, nil
}

// symbolIndexed looks an indexed name up.
func (b *Binary) symbolIndexed(name string) (addr, size uint64, ok bool, err error) {
	defer guard(&err, "reading .symtab", debug.SetPanicOnFault(true))
	x := &b.syms
	h := uint64(nameHash([]byte(name))) << 32
	i, _ := slices.BinarySearch(x.keys, h)
	var rec [symSize]byte
	want := make([]byte, len(name)+1)
	for ; i < len(x.keys) && x.keys[i]&^0xffffffff == h; i++ {
		j := uint64(uint32(x.keys[i]))
		if err := b.im.readAt(rec[:], x.sym.Offset+j*symSize); err != nil {
			return 0, 0, false, err
		}
		off := uint64(binary.LittleEndian.Uint32(rec[:]))
		if off > x.str.FileSize || uint64(len(want)) > x.str.FileSize-off {
			continue
		}
		if err := b.im.readAt(want, x.str.Offset+off); err != nil {
			return 0, 0, false, err
		}
		if string(want[:len(name)]) == name && want[len(name)] == 0 {
			return binary.LittleEndian.Uint64(rec[8:]), binary.LittleEndian.Uint64(rec[16:]), true, nil
		}
	}
	return 0, 0, false, nil
}

// symbolScan finds a name that is not indexed: the string table offsets
// where it starts, then the first defined symbol using one of them.
func (b *Binary) symbolScan(name string) (addr, size uint64, ok bool, err error) {
	defer guard(&err, "reading .symtab", debug.SetPanicOnFault(true))
	x := &b.syms
	var offs []uint32
	err = b.im.scanStrings(x.str.Offset, x.str.FileSize, func(at uint64, s []byte) bool {
		if bytes.HasSuffix(s, []byte(name)) {
			offs = append(offs, uint32(at)+uint32(len(s)-len(name)))
		}
		return true
	})
	if err != nil || len(offs) == 0 {
		return 0, 0, false, err
	}
	err = b.im.scanRecords(x.sym.Offset, x.sym.FileSize, symSize, func(j int, rec []byte) bool {
		if j == 0 || binary.LittleEndian.Uint16(rec[6:]) == uint16(elf.SHN_UNDEF) {
			return true
		}
		if _, found := slices.BinarySearch(offs, binary.LittleEndian.Uint32(rec)); found {
			addr, size, ok = binary.LittleEndian.Uint64(rec[8:]), binary.LittleEndian.Uint64(rec[16:]), true
			return false
		}
		return true
	})
	return addr, size, ok, err
}
