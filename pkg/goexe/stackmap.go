package goexe

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
)

// StackBitmap is one stack map: bit i set means word i holds a pointer.
type StackBitmap struct {
	N    int32  // words described
	Bits []byte // ceil(N/8) bytes
}

// Ptr reports whether word i holds a pointer.
func (b StackBitmap) Ptr(i int32) bool {
	return i >= 0 && i < b.N && int(i/8) < len(b.Bits) && b.Bits[i/8]&(1<<(i%8)) != 0
}

// StackObject is a stack variable whose address is taken (a
// runtime.stackObjectRecord): the runtime scans it only when a pointer to it
// is found. Off is relative to the frame's varp when negative, to its argp
// otherwise.
type StackObject struct {
	Off, Size int32
}

// StackMaps is what the runtime's stkframe.getStackMap finds for a frame at
// a pc: which words of its locals (the Locals.N words below varp) and of its
// arguments (from argp) hold live pointers there, and its stack objects.
type StackMaps struct {
	// HasLocals is false when the function has no locals map: its frame
	// must then hold no locals (the runtime throws "missing stackmap").
	Locals    StackBitmap
	HasLocals bool
	// ArgBytes is _func.args; ArgsKnown is false for the functions whose
	// argument size the runtime computes at run time (reflect stubs).
	// HasArgs is false when args are non-empty but the function has no
	// args map.
	ArgBytes  int64
	ArgsKnown bool
	Args      StackBitmap
	HasArgs   bool
	Objects   []StackObject
}

// ErrNoStackMap means a frame's pointer maps are missing or unreadable: scan
// it conservatively.
var ErrNoStackMap = errors.New("no stack map")

// StackMapsAt returns the stack maps of the frame whose continuation pc is
// the link-time pc, as the runtime's getStackMap does: at a function's entry
// the entry maps (index 0); elsewhere the PCDATA_StackMapIndex of pc-1 (the
// call instruction), index 0 when it has none.
func (b *Binary) StackMapsAt(pc uint64) (m StackMaps, err error) {
	defer guard(&err, "reading stack maps", debug.SetPanicOnFault(true))
	if b.tab == nil || b.ext.gofunc == nil {
		return StackMaps{}, fmt.Errorf("function table or go:func.* unknown: %w", ErrNoStackMap)
	}
	f, ok := b.tab.Lookup(pc)
	if !ok {
		return StackMaps{}, fmt.Errorf("pc %#x in no function: %w", pc, ErrNoStackMap)
	}
	idx := int32(-1)
	if pc != f.Entry {
		if v, ok := b.tab.PCData(f, pclntab.PCDataStackMapIndex, pc-1); ok {
			idx = v
		}
	}
	if idx == -1 {
		idx = 0
	}
	locals, has, err := b.tab.StackMap(f, pclntab.FuncDataLocalsPointerMaps, idx, b.ext.gofunc)
	if err != nil {
		return StackMaps{}, fmt.Errorf("%w: %w", err, ErrNoStackMap)
	}
	m.Locals, m.HasLocals = StackBitmap(locals), has
	m.ArgBytes, m.ArgsKnown = int64(f.Args), f.Args != pclntab.ArgsSizeUnknown
	if m.ArgsKnown && m.ArgBytes > 0 {
		args, has, err := b.tab.StackMap(f, pclntab.FuncDataArgsPointerMaps, idx, b.ext.gofunc)
		if err != nil {
			return StackMaps{}, fmt.Errorf("%w: %w", err, ErrNoStackMap)
		}
		m.Args, m.HasArgs = StackBitmap(args), has
	}
	objs, err := b.tab.StackObjects(f, b.ext.gofunc)
	if err != nil {
		return StackMaps{}, fmt.Errorf("%w: %w", err, ErrNoStackMap)
	}
	for _, o := range objs {
		m.Objects = append(m.Objects, StackObject{Off: o.Off, Size: o.Size})
	}
	return m, nil
}
