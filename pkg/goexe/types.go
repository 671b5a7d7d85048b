package goexe

import "errors"

// Sentinel errors callers branch on.
var (
	// ErrNotGo means the file is an ELF executable but not built by the Go toolchain.
	ErrNotGo = errors.New("not a Go executable")
	// ErrUnsupportedGo means a Go version or layout memsight does not know.
	ErrUnsupportedGo = errors.New("unsupported Go version or binary layout")
	// ErrNoProbePoint means a probe point could not be located with certainty.
	ErrNoProbePoint = errors.New("probe point not located")
	// ErrBadELF means the file is not a well-formed ELF file (or exceeds parsing limits).
	ErrBadELF = errors.New("malformed or unsupported ELF file")
)

// Arch is a GOARCH value: "amd64" or "arm64".
type Arch string

// Architectures memsight decodes.
const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Version is a parsed Go toolchain version such as go1.26.8.
type Version struct {
	Major, Minor, Patch int
}

// Segment is one PT_LOAD program header.
type Segment struct {
	Vaddr, Memsz, Off, Filesz uint64
	Exec                      bool
}

// Point is one instruction a uprobe may be attached to.
type Point struct {
	// Func is the (pclntab) name of the function that holds the instruction.
	Func string `json:"func"`
	// Addr is the link-time virtual address of the instruction.
	Addr uint64 `json:"addr"`
	// Offset is the file offset of the instruction (what the kernel's uprobe API takes).
	Offset uint64 `json:"offset"`
	// Inst is the decoded instruction, for humans and logs.
	Inst string `json:"inst"`
	// Emulated reports whether the kernel emulates the instruction
	// (CALL/JMP/Jcc on x86: ≈1 µs per hit here) instead of single-stepping it (≈6 µs).
	Emulated bool `json:"emulated"`
}

// FuncProbe is a function-entry probe point and its cheapest equivalent.
type FuncProbe struct {
	// Entry is the first instruction of the function.
	Entry Point `json:"entry"`
	// Cheap, when set, fires exactly when Entry does (the prologue's stack-check
	// conditional jump) with the argument registers unchanged, but is emulated by
	// the kernel. Nil when no such instruction was found with certainty.
	Cheap *Point `json:"cheap,omitempty"`
}

// Best returns the cheapest point equivalent to the function entry.
func (f *FuncProbe) Best() Point {
	if f.Cheap != nil {
		return *f.Cheap
	}
	return f.Entry
}

// CallSite is a CALL instruction inside a runner function and the instruction
// after it (where the callee returns to).
type CallSite struct {
	Call   Point `json:"call"`
	Resume Point `json:"resume"`
}

// ProbePoints are all the points memsight may attach to in one binary.
// A nil field was not located; Missing says why.
type ProbePoints struct {
	QueueFinalizer *FuncProbe `json:"queuefinalizer,omitempty"`
	SetFinalizer   *FuncProbe `json:"setfinalizer,omitempty"`
	// FinalizerRunner is runtime.runfinq (≤1.24) or runtime.runFinalizers (1.25+).
	FinalizerRunner string `json:"finalizer_runner,omitempty"`
	// FinalizerCall is the CALL runtime.reflectcall in the runner.
	FinalizerCall *CallSite `json:"finalizer_call,omitempty"`
	// CleanupEnqueue is runtime.(*cleanupQueue).enqueue (1.25+).
	CleanupEnqueue *FuncProbe `json:"cleanup_enqueue,omitempty"`
	// CleanupRunner is runtime.runfinq (1.24) or runtime.runCleanups (1.25+).
	CleanupRunner string `json:"cleanup_runner,omitempty"`
	// CleanupCall is the indirect CALL of the cleanup function in the runner.
	CleanupCall  *CallSite  `json:"cleanup_call,omitempty"`
	GCStartCycle *FuncProbe `json:"gc_start_cycle,omitempty"`
	STWStop      *FuncProbe `json:"stw_stop,omitempty"`
	STWStart     *FuncProbe `json:"stw_start,omitempty"`
	// Missing maps a point name (the JSON name above) to why it was not located.
	Missing map[string]string `json:"missing,omitempty"`
}

// Global is the link-time address of a runtime global variable.
// Addr == 0 means unknown; Err then says why.
type Global struct {
	Addr   uint64 `json:"addr"`
	Source string `json:"source,omitempty"` // "symtab", "decode:runtime.finReadQueueStats", ...
	Err    string `json:"err,omitempty"`
}

// Known reports whether the address was found.
func (g Global) Known() bool { return g.Addr != 0 }

// RuntimeGlobals are the link-time addresses of the runtime globals memsight
// reads. Add the load bias of a running PIE process before reading.
type RuntimeGlobals struct {
	Fing           Global `json:"fing"`           // runtime.fing (*g)
	FingStatus     Global `json:"fingStatus"`     // runtime.fingStatus (atomic.Uint32)
	FinQueued      Global `json:"finqueued"`      // runtime.finqueued (1.25+)
	FinExecuted    Global `json:"finexecuted"`    // runtime.finexecuted (1.25+)
	Finq           Global `json:"finq"`           // runtime.finq (*finBlock)
	GCCleanups     Global `json:"gcCleanups"`     // runtime.gcCleanups (1.25+)
	AllGs          Global `json:"allgs"`          // runtime.allgs ([]*g)
	AllGLen        Global `json:"allglen"`        // runtime.allglen
	AllP           Global `json:"allp"`           // runtime.allp ([]*p)
	GCController   Global `json:"gcController"`   // runtime.gcController
	Memstats       Global `json:"memstats"`       // runtime.memstats
	MemProfileRate Global `json:"MemProfileRate"` // runtime.MemProfileRate
	MBuckets       Global `json:"mbuckets"`       // runtime.mbuckets
	MHeap          Global `json:"mheap_"`         // runtime.mheap_
	AllFin         Global `json:"allfin"`         // runtime.allfin (*finBlock: every finalizer block)
}

// Layout holds runtime struct field offsets for one binary, keyed by
// "struct.field" names such as "runtime.g.sched.sp" or "runtime.g.goid".
// A missing key is unknown: never assume zero.
type Layout struct {
	// Source says where the offsets came from: "dwarf" or "table:go1.26".
	Source string            `json:"source"`
	Fields map[string]int64  `json:"fields"`
	Consts map[string]int64  `json:"consts,omitempty"` // e.g. waitReason values, "waitReason.finalizer wait"
	Names  map[string]string `json:"-"`                // reverse maps, e.g. "waitReason.10" -> "finalizer wait"
}

// Off returns the offset of a field and whether it is known.
func (l Layout) Off(field string) (int64, bool) {
	v, ok := l.Fields[field]
	return v, ok
}
