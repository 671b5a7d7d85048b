package goexe

import (
	"runtime/debug"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
)

// Frame is one logical frame of a PC: the function holding it or one of the
// functions inlined there, with the file and line the runtime would print.
type Frame struct {
	// Func is the pclntab name ("main.(*conn).Close", "runtime.AddCleanup[go.shape.int]");
	// PrintName gives the runtime's printed form.
	Func string
	// File and Line are "" and 0 when unknown.
	File string
	Line int
	// Entry is the entry of the physical function (also for inlined frames).
	Entry uint64
	// PC is the pc that was looked up (as given, before any pc-1 adjustment).
	PC uint64
	// Inlined marks a frame inlined into the next one.
	Inlined bool
	// FuncID is the function's abi.FuncID name ("normal", "wrapper", ...;
	// "" when unknown): the runtime's tracebacks elide "wrapper" frames
	// (method value wrappers, the closures of go and defer statements).
	FuncID string
}

// PrintName returns the function name as the runtime prints it (type
// arguments of a generic shape instantiation shown as "[...]").
func (f Frame) PrintName() string { return pclntab.FuncNameForPrint(f.Func) }

// Frames symbolizes a link-time pc into logical frames, innermost first,
// expanding inlined calls like the runtime's traceback. With ret, pc is a
// return address and is looked up at pc-1 (inside the CALL), as the runtime
// does for every frame except the innermost and one interrupted by a signal
// (the frame above runtime.asyncPreempt or sigpanic). It returns nil when no
// function holds pc. When the inline tree is unreadable the physical frame
// is returned with File "" and Line 0: the physical function's line at pc
// would be an inlinee's, which is worse than unknown.
func (b *Binary) Frames(pc uint64, ret bool) (out []Frame) {
	defer recoverTo(b, &out, debug.SetPanicOnFault(true))
	tab := b.tab
	if tab == nil {
		return nil
	}
	f, ok := tab.FuncAt(pc)
	if !ok {
		return nil
	}
	sym := pc
	if ret && pc > f.Entry {
		sym = pc - 1
	}
	fr, err := tab.InlineFrames(f, sym, b.ext.gofunc)
	if err != nil {
		return []Frame{{Func: f.Name, Entry: f.Entry, PC: pc, FuncID: pclntab.FuncIDName(b.Version.Minor, f.FuncID)}}
	}
	out = make([]Frame, len(fr))
	for i, x := range fr {
		out[i] = Frame{Func: x.Func, File: x.File, Line: x.Line, Entry: f.Entry, PC: pc, Inlined: x.Inlined,
			FuncID: pclntab.FuncIDName(b.Version.Minor, x.FuncID)}
		if x.File == "?" {
			out[i].File, out[i].Line = "", 0
		}
	}
	return out
}

// SPDelta returns the stack-pointer delta at the link-time pc: the size of
// the part of the frame in use there. On amd64 the return address is at
// SP+delta; on arm64 the saved LR is at SP and the caller's SP is SP+delta.
func (b *Binary) SPDelta(pc uint64) (d int64, ok bool) {
	defer recoverTo(b, &ok, debug.SetPanicOnFault(true))
	if b.tab == nil {
		return 0, false
	}
	f, ok := b.tab.Lookup(pc)
	if !ok {
		return 0, false
	}
	return b.tab.SPDelta(f, pc)
}

// FuncMeta is what the runtime's unwinder knows about a function besides
// its name and bounds.
type FuncMeta struct {
	Func
	// FuncID is the runtime's abi.FuncID name: "normal", "goexit",
	// "asyncPreempt", "sigpanic", "mcall", "systemstack", "wrapper", ...
	// ("" when the number is unknown for the version).
	FuncID string
	// TopFrame marks a function at the top of a stack (runtime.goexit,
	// mstart, rt0_go): unwinding stops there.
	TopFrame bool
	// SPWrite marks a function that writes SP in a way pcsp does not
	// describe (gogo, systemstack, ...): unwinding cannot pass it.
	SPWrite bool
	Asm     bool
}

// FuncMetaAt returns the metadata of the function holding the link-time pc.
func (b *Binary) FuncMetaAt(pc uint64) (m FuncMeta, ok bool) {
	defer recoverTo(b, &ok, debug.SetPanicOnFault(true))
	if b.tab == nil {
		return FuncMeta{}, false
	}
	f, ok := b.tab.FuncAt(pc)
	if !ok {
		return FuncMeta{}, false
	}
	return FuncMeta{
		Func:     Func{Name: f.Name, Entry: f.Entry, End: f.End},
		FuncID:   pclntab.FuncIDName(b.Version.Minor, f.FuncID),
		TopFrame: f.Flag&pclntab.FlagTopFrame != 0,
		SPWrite:  f.Flag&pclntab.FlagSPWrite != 0,
		Asm:      f.Flag&pclntab.FlagAsm != 0,
	}, true
}

// FuncIDAt returns the abi.FuncID name of the function holding pc
// ("goexit", "asyncPreempt", "normal", ...), see FuncMeta.FuncID.
func (b *Binary) FuncIDAt(pc uint64) (string, bool) {
	m, ok := b.FuncMetaAt(pc)
	if !ok || m.FuncID == "" {
		return "", false
	}
	return m.FuncID, true
}
