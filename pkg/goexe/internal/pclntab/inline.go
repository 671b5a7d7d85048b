package pclntab

import (
	"encoding/binary"
	"fmt"
)

// inlinedCallSize is the size of runtime.inlinedCall (1.20–1.27):
// funcID u8, _ [3]byte, nameOff int32, parentPc int32, startLine int32.
const inlinedCallSize = 16

// maxInlineDepth bounds inline expansion on malformed trees.
const maxInlineDepth = 256

// Frame is one logical frame at a PC: the physical function or one of the
// functions inlined into it.
type Frame struct {
	Func      string // name as in the table (use FuncNameForPrint to print)
	File      string
	Line      int
	StartLine int
	FuncID    uint8
	Inlined   bool // true for an inlinee; the last frame of a list is the physical one
}

// InlineFrames expands the link-time pc of function f into logical frames,
// innermost first, the way the runtime's inlineUnwinder does. gofunc holds the
// bytes at moduledata.gofunc (to the end of the section holding it): FUNCDATA
// offsets are relative to it. It returns an error, and no guess, when f has an
// inline tree that gofunc does not cover.
func (t *Table) InlineFrames(f Func, pc uint64, gofunc []byte) ([]Frame, error) {
	if pc < f.Entry || pc >= f.End {
		return nil, fmt.Errorf("pc %#x outside %s [%#x, %#x)", pc, f.Name, f.Entry, f.End)
	}
	tree, hasTree := t.FuncData(f, FuncDataInlTree)
	var frames []Frame
	cur := pc
	for depth := 0; depth < maxInlineDepth; depth++ {
		idx := int32(-1)
		if hasTree {
			if v, ok := t.PCData(f, PCDataInlTreeIndex, cur); ok {
				idx = v
			}
		}
		file, line := t.FileLine(f, cur)
		if idx < 0 {
			return append(frames, Frame{
				Func: f.Name, File: file, Line: line,
				StartLine: f.StartLine, FuncID: f.FuncID,
			}), nil
		}
		off := uint64(tree) + uint64(idx)*inlinedCallSize
		if off+inlinedCallSize > uint64(len(gofunc)) {
			return nil, fmt.Errorf("%s: inline tree entry %d at gofunc+%#x beyond %d bytes", f.Name, idx, off, len(gofunc))
		}
		ic := gofunc[off : off+inlinedCallSize]
		le := binary.LittleEndian
		name, ok := cstring(t.funcnametab, int(int32(le.Uint32(ic[4:]))))
		if !ok {
			return nil, fmt.Errorf("%s: inline tree entry %d: bad name offset %#x", f.Name, idx, le.Uint32(ic[4:]))
		}
		frames = append(frames, Frame{
			Func: name, File: file, Line: line,
			StartLine: int(int32(le.Uint32(ic[12:]))), FuncID: ic[0], Inlined: true,
		})
		parent := f.Entry + uint64(int64(int32(le.Uint32(ic[8:]))))
		if parent < f.Entry || parent >= f.End {
			return nil, fmt.Errorf("%s: inline tree entry %d: parent pc %#x outside the function", f.Name, idx, parent)
		}
		cur = parent
	}
	return nil, fmt.Errorf("%s: inline tree deeper than %d at pc %#x", f.Name, maxInlineDepth, pc)
}
