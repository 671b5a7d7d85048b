package goexe

import (
	"debug/elf"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/memsight/memsight/pkg/goexe/internal/dwarfstruct"
)

// Bounds of the DWARF read for struct layouts. The runtime's compile unit,
// which holds every type, comes early: it starts about 1 MiB into the
// 25 MiB of an 80 MB server's .debug_info (and is 4.5 MiB long).
const (
	maxDWARFScan   = 256 << 20 // decompressed bytes read per pass
	maxDWARFPasses = 3
	maxAbbrevBytes = 16 << 20
)

// dwarfLayout reads every layoutSpec struct from the runtime's compile unit
// of the binary's DWARF, streaming .debug_info (decompressing as it goes)
// and stopping after that unit: nothing else of the DWARF is kept, and
// nothing at all once it returns.
func dwarfLayout(b *Binary) (l Layout, err error) {
	defer guard(&err, "reading struct layouts from DWARF", debug.SetPanicOnFault(true))
	info, abbrevSec := b.dwarfSection("info"), b.dwarfSection("abbrev")
	if info == nil || abbrevSec == nil {
		return Layout{}, ErrNoDWARF
	}
	if n, err := b.ef.decompressedSize(abbrevSec); err != nil || n > maxAbbrevBytes {
		return Layout{}, fmt.Errorf("%s of %d bytes (%w): %w", abbrevSec.Name, n, err, ErrBadELF)
	}
	abbrev, err := b.readSection(abbrevSec)
	if err != nil {
		return Layout{}, err
	}
	spec := layoutSpec()
	want := map[string][]string{}
	for _, s := range spec {
		for _, n := range s.Names {
			want[n] = s.Fields
		}
	}
	open := func() io.Reader { return info.Open() }
	structs, _, err := dwarfstruct.Read(open, abbrev, "runtime", want,
		dwarfstruct.Limits{MaxScan: maxDWARFScan, MaxPasses: maxDWARFPasses})
	if err != nil {
		return Layout{}, fmt.Errorf("reading %s: %w", info.Name, err)
	}
	l = Layout{Source: "dwarf", Fields: map[string]int64{}, Consts: map[string]int64{}, Names: map[string]string{}}
	for _, s := range spec {
		for _, n := range s.Names {
			st, ok := structs[n]
			if !ok {
				continue
			}
			l.Consts[SizeKey(s.Key)] = st.Size
			for path, off := range st.Fields {
				l.Fields[s.Key+"."+path] = off
			}
			break
		}
	}
	if _, ok := l.Consts[SizeKey("runtime.g")]; !ok {
		return Layout{}, fmt.Errorf("DWARF has no runtime.g: %w", ErrNoDWARF)
	}
	return l, nil
}

// dwarfSection returns .debug_<name>, or the older compressed .zdebug_<name>.
func (b *Binary) dwarfSection(name string) *elf.Section {
	if s := b.ef.section(".debug_" + name); s != nil {
		return s
	}
	return b.ef.section(".zdebug_" + name)
}
