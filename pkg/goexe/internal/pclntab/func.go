package pclntab

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Function flags (abi.FuncFlag), the same in Go 1.20–1.27.
const (
	// FlagTopFrame marks a function at the top of a stack (runtime.goexit,
	// runtime.mstart, ...): unwinding stops there.
	FlagTopFrame = 1 << 0
	// FlagSPWrite marks a function that writes SP in a way pcsp cannot
	// describe (runtime.gogo, systemstack, ...): unwinding cannot pass it.
	FlagSPWrite = 1 << 1
	// FlagAsm marks an assembly function.
	FlagAsm = 1 << 2
)

// PCDATA and FUNCDATA table indexes used here (internal/abi, 1.20–1.27).
const (
	PCDataUnsafePoint   = 0
	PCDataStackMapIndex = 1
	PCDataInlTreeIndex  = 2
	FuncDataInlTree     = 3
)

// funcHeaderSize is the size of the fixed part of runtime._func.
const funcHeaderSize = 44

// Func is one function of the table (a runtime._func record).
type Func struct {
	Name      string
	Entry     uint64 // link-time address of the first instruction
	End       uint64 // entry of the next function (exclusive)
	Args      int32  // argument size; -0x80000000 when unknown
	StartLine int    // line of the func keyword / TEXT directive
	FuncID    uint8  // abi.FuncID; numbering differs per Go version, see FuncIDName
	Flag      uint8  // FlagTopFrame, FlagSPWrite, FlagAsm

	index     int    // position in the functab
	off       int    // offset of the _func record in pclntable
	entryOff  uint32 // entry as recorded in the _func record
	nameOff   int32  // offset of the name in funcnametab
	pcsp      uint32 // offsets into pctab
	pcfile    uint32
	pcln      uint32
	npcdata   uint32
	cuOffset  uint32
	nfuncdata uint8
}

// Index returns the function's position in the function table.
func (f Func) Index() int { return f.index }

// Func returns the i'th function of the table.
func (t *Table) Func(i int) (Func, error) {
	f, err := t.record(i)
	if err != nil {
		return Func{}, err
	}
	name, ok := t.name(f)
	if !ok {
		return Func{}, fmt.Errorf("function %d: name offset %#x: %w", i, f.nameOff, ErrFormat)
	}
	f.Name = name
	return f, nil
}

// record decodes the i'th _func record, without the name.
func (t *Table) record(i int) (Func, error) {
	if i < 0 || i >= t.nfunc {
		return Func{}, fmt.Errorf("function index %d of %d: %w", i, t.nfunc, ErrFormat)
	}
	entryOff := t.u32(t.pclntable, i*8)
	funcOff := int(t.u32(t.pclntable, i*8+4))
	endOff := t.u32(t.pclntable, (i+1)*8)
	if funcOff+funcHeaderSize > len(t.pclntable) || funcOff < 0 {
		return Func{}, fmt.Errorf("function %d record at %#x beyond the table: %w", i, funcOff, ErrFormat)
	}
	r := t.pclntable[funcOff : funcOff+funcHeaderSize]
	f := decodeRecord(r)
	f.Entry, f.End = t.textStart+uint64(entryOff), t.textStart+uint64(endOff)
	f.index, f.off = i, funcOff
	if err := checkRecord(f, i, entryOff, endOff); err != nil {
		return Func{}, err
	}
	if funcOff+funcHeaderSize+4*(int(f.npcdata)+int(f.nfuncdata)) > len(t.pclntable) {
		return Func{}, fmt.Errorf("function %d: %d pcdata / %d funcdata beyond the table: %w", i, f.npcdata, f.nfuncdata, ErrFormat)
	}
	return f, nil
}

// decodeRecord decodes the fixed part of a _func record (funcHeaderSize
// bytes); Entry, End, index and off are left to the caller.
func decodeRecord(r []byte) Func {
	le := binary.LittleEndian
	return Func{
		Args:      int32(le.Uint32(r[8:])),
		StartLine: int(int32(le.Uint32(r[36:]))),
		FuncID:    r[40],
		Flag:      r[41],
		entryOff:  le.Uint32(r[0:]),
		nameOff:   int32(le.Uint32(r[4:])),
		pcsp:      le.Uint32(r[16:]),
		pcfile:    le.Uint32(r[20:]),
		pcln:      le.Uint32(r[24:]),
		npcdata:   le.Uint32(r[28:]),
		cuOffset:  le.Uint32(r[32:]),
		nfuncdata: r[43],
	}
}

// checkRecord checks a decoded record against its functab entry.
func checkRecord(f Func, i int, entryOff, endOff uint32) error {
	if f.entryOff != entryOff {
		return fmt.Errorf("function %d: record entry %#x != functab entry %#x: %w", i, f.entryOff, entryOff, ErrFormat)
	}
	if endOff < entryOff {
		return fmt.Errorf("function %d: end %#x before entry %#x: %w", i, endOff, entryOff, ErrFormat)
	}
	if f.npcdata > 1<<10 {
		return fmt.Errorf("function %d: %d pcdata: %w", i, f.npcdata, ErrFormat)
	}
	return nil
}

// name returns the name of a function decoded by record.
func (t *Table) name(f Func) (string, bool) {
	return cstring(t.funcnametab, int(f.nameOff))
}

// Funcs returns every function in table order (ascending entry). It stops at
// the first malformed record and returns what it decoded with the error.
// It reads the whole table: use Scan to look for names in a large one.
func (t *Table) Funcs() ([]Func, error) {
	fs := make([]Func, 0, t.nfunc)
	for i := 0; i < t.nfunc; i++ {
		f, err := t.Func(i)
		if err != nil {
			return fs, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// FuncAt returns the function whose [Entry, End) holds the link-time pc.
func (t *Table) FuncAt(pc uint64) (Func, bool) {
	f, ok := t.Lookup(pc)
	if !ok {
		return Func{}, false
	}
	if f.Name, ok = t.name(f); !ok {
		return Func{}, false
	}
	return f, true
}

// Lookup is FuncAt without the name (Name is ""), for callers that need only
// the function's bounds and tables: it allocates nothing.
func (t *Table) Lookup(pc uint64) (Func, bool) {
	if pc < t.textStart || pc-t.textStart > 1<<32-1 {
		return Func{}, false
	}
	off := uint32(pc - t.textStart)
	// First function whose entry is beyond off, minus one.
	i := sort.Search(t.nfunc, func(i int) bool { return t.u32(t.pclntable, i*8) > off }) - 1
	if i < 0 {
		return Func{}, false
	}
	f, err := t.record(i)
	if err != nil || pc >= f.End {
		return Func{}, false
	}
	return f, true
}

// PCData returns the offset into pctab of the function's PCDATA table i.
func (t *Table) pcdataOff(f Func, i uint32) uint32 {
	if i >= f.npcdata {
		return 0
	}
	return t.u32(t.pclntable, f.off+funcHeaderSize+int(i)*4)
}

// FuncData returns the offset, relative to moduledata.gofunc, of the function's
// FUNCDATA i, and false when the function has none.
func (t *Table) FuncData(f Func, i uint8) (uint32, bool) {
	if i >= f.nfuncdata {
		return 0, false
	}
	off := t.u32(t.pclntable, f.off+funcHeaderSize+int(f.npcdata)*4+int(i)*4)
	if off == ^uint32(0) {
		return 0, false
	}
	return off, true
}

// FuncNameForPrint returns the name as the runtime prints it: the type
// arguments of a generic function's shape instantiation become "[...]".
func FuncNameForPrint(name string) string {
	i := -1
	for k := 0; k < len(name); k++ {
		if name[k] == '[' {
			i = k
			break
		}
	}
	if i < 0 {
		return name
	}
	j := len(name) - 1
	for j > i && name[j] != ']' {
		j--
	}
	if j <= i {
		return name
	}
	return name[:i] + "[...]" + name[j+1:]
}
