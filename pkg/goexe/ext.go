package goexe

import (
	"fmt"
	"sync"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
)

// binaryExt is the state symbolization, globals and layouts keep per binary.
type binaryExt struct {
	tab        *pclntab.Table
	moduledata uint64 // link-time address of runtime.firstmoduledata, 0 when unknown
	gofunc     []byte // bytes at moduledata.gofunc (FUNCDATA base); nil when unknown
	gofuncErr  error
	layout     Layout
	layoutErr  error

	retMu    sync.Mutex
	retSites map[uint64]map[uint64]bool // function entry -> return addresses of its calls
}

// initExt parses the pclntab for symbolization and unwinding, computes the
// struct layouts and locates moduledata.gofunc for inline expansion. Only a
// pclntab the decoder rejects is an error; the rest degrades to "unknown".
func (b *Binary) initExt() error {
	quantum := 1
	if b.Arch == ARM64 {
		quantum = 4
	}
	tab, err := pclntab.Parse(b.pclntab, b.TextStart, 8, quantum)
	if err != nil {
		return fmt.Errorf("decoding .gopclntab: %w", err)
	}
	b.ext.tab = tab
	b.ext.layout, b.ext.layoutErr = computeLayout(b)
	b.ext.moduledata, b.ext.gofunc, b.ext.gofuncErr = b.findGofunc()
	return nil
}

// LayoutErr says why Layout is empty or partial (nil when it is complete
// for the binary's version).
func (b *Binary) LayoutErr() error { return b.ext.layoutErr }

// Moduledata returns the link-time address of runtime.firstmoduledata.
func (b *Binary) Moduledata() (uint64, bool) { return b.ext.moduledata, b.ext.moduledata != 0 }

// findGofunc locates firstmoduledata and returns the bytes at its gofunc
// field, to the end of the section holding them (.gopclntab in 1.26+,
// .rodata before).
func (b *Binary) findGofunc() (uint64, []byte, error) {
	md, err := b.moduledataAddr()
	if err != nil {
		return 0, nil, err
	}
	off, ok := b.ext.layout.Off("runtime.moduledata.gofunc")
	if !ok {
		return md, nil, fmt.Errorf("moduledata.gofunc offset unknown for %s", b.GoVersion)
	}
	buf, err := b.ReadVA(md+uint64(off), 8)
	if err != nil {
		return md, nil, fmt.Errorf("reading moduledata.gofunc: %w", err)
	}
	m := &moduledataFinder{b: b}
	gofunc := m.word(buf, md+uint64(off), 0)
	for _, s := range b.ef.f.Sections {
		if gofunc < s.Addr || gofunc >= s.Addr+s.Size || s.Addr == 0 {
			continue
		}
		if s.Addr == b.pcAddr {
			return md, b.pclntab[gofunc-s.Addr:], nil
		}
		data, _, err := b.Section(s.Name)
		if err != nil {
			return md, nil, fmt.Errorf("reading go:func.* in %s: %w", s.Name, err)
		}
		return md, data[gofunc-s.Addr:], nil
	}
	return md, nil, fmt.Errorf("moduledata.gofunc %#x is in no section", gofunc)
}

// moduledataAddr returns the address of runtime.firstmoduledata: the
// .go.module section (1.26+), else the one validated candidate in .noptrdata
// or .data whose pcHeader is the .gopclntab address and whose text is
// TextStart.
func (b *Binary) moduledataAddr() (uint64, error) {
	if a, _, ok := b.Symbol("runtime.firstmoduledata"); ok {
		return a, nil
	}
	text := b.ef.section(".text")
	if text == nil {
		return 0, fmt.Errorf("no .text section")
	}
	m := &moduledataFinder{b: b, text: text}
	if s := b.ef.section(".go.module"); s != nil {
		if t, ok := m.at(s, 0); ok && t == b.TextStart {
			return s.Addr, nil
		}
	}
	var found uint64
	for _, name := range []string{".noptrdata", ".data"} {
		s := b.ef.section(name)
		if s == nil {
			continue
		}
		data, _, err := b.Section(name)
		if err != nil {
			return 0, err
		}
		for off := uint64(0); off+mdMinSize <= uint64(len(data)); off += 8 {
			if m.word(data, s.Addr, off) != b.pcAddr {
				continue
			}
			if t, ok := m.at(s, off); ok && t == b.TextStart {
				if found != 0 && found != s.Addr+off {
					return 0, fmt.Errorf("two moduledata candidates (%#x, %#x)", found, s.Addr+off)
				}
				found = s.Addr + off
			}
		}
	}
	if found == 0 {
		return 0, fmt.Errorf("runtime.firstmoduledata not found")
	}
	return found, nil
}
