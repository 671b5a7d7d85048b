package goexe

import (
	"debug/elf"
	"fmt"
	"sync"
)

// binaryExt is the state symbolization, globals and layouts keep per binary.
type binaryExt struct {
	moduledata uint64 // link-time address of runtime.firstmoduledata, 0 when unknown
	gofunc     []byte // bytes at moduledata.gofunc (FUNCDATA base), from the mapping; nil when unknown
	gofuncErr  error
	layout     Layout
	layoutErr  error

	retMu    sync.Mutex
	retSites map[uint64][]uint32 // function entry -> offsets of the return addresses of its calls
	retCount int                 // return addresses in retSites
}

// initExt computes the struct layouts and locates moduledata.gofunc for
// inline expansion. It returns an error when symbolization is impossible
// (no function table); the rest degrades to "unknown".
func (b *Binary) initExt() error {
	if b.tab == nil {
		return fmt.Errorf("no function table")
	}
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
// .rodata before): a view of the mapping, nothing is copied.
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
	gofunc := b.finder().word(buf, md+uint64(off), 0)
	for _, s := range b.ef.f.Sections {
		if gofunc < s.Addr || gofunc >= s.Addr+s.Size || s.Addr == 0 {
			continue
		}
		if s.Type == elf.SHT_NOBITS || gofunc-s.Addr >= s.FileSize {
			return md, nil, fmt.Errorf("go:func.* at %#x has no file bytes in %s", gofunc, s.Name)
		}
		rel := gofunc - s.Addr
		data, err := b.im.view(s.Offset+rel, s.FileSize-rel, maxSectionSize)
		if err != nil {
			return md, nil, fmt.Errorf("reading go:func.* in %s: %w", s.Name, err)
		}
		return md, data, nil
	}
	return md, nil, fmt.Errorf("moduledata.gofunc %#x is in no section", gofunc)
}

// moduledataAddr returns the address of runtime.firstmoduledata: the
// .symtab symbol, else the .go.module section (1.26+), else the one
// candidate in .noptrdata or .data whose pcHeader is the .gopclntab address
// and whose text is TextStart.
func (b *Binary) moduledataAddr() (uint64, error) {
	if a, _, ok := b.Symbol("runtime.firstmoduledata"); ok {
		return a, nil
	}
	m := b.finder()
	if m.scanGoModule(); m.goMod != 0 && m.goText == b.TextStart {
		return m.goMod, nil
	}
	if err := m.scanData(); err != nil {
		return 0, err
	}
	var found uint64
	for _, c := range m.cands {
		if c.text != b.TextStart {
			continue
		}
		if found != 0 && found != c.addr {
			return 0, fmt.Errorf("two moduledata candidates (%#x, %#x)", found, c.addr)
		}
		found = c.addr
	}
	if found == 0 {
		return 0, fmt.Errorf("runtime.firstmoduledata not found")
	}
	return found, nil
}
