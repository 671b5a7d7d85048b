package goruntime

import (
	"bytes"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
)

// Goroutine status values (runtime2.go; the same in Go 1.20–1.27, 1.26
// added leaked and deadextra).
const (
	gIdle      = 0
	gRunnable  = 1
	gRunning   = 2
	gSyscall   = 3
	gWaiting   = 4
	gDead      = 6
	gCopystack = 8
	gPreempted = 9
	gScan      = 0x1000
)

// statusName is the runtime's gStatusStrings.
func statusName(s uint32, minor int) string {
	switch s {
	case gIdle:
		return "idle"
	case gRunnable:
		return "runnable"
	case gRunning:
		return "running"
	case gSyscall:
		return "syscall"
	case gWaiting:
		return "waiting"
	case gDead:
		return "dead"
	case gCopystack:
		return "copystack"
	case gPreempted:
		return "preempted"
	case 10:
		if minor >= 26 {
			return "leaked"
		}
	case 11:
		if minor >= 26 {
			return "waiting for cgo callback"
		}
	}
	return fmt.Sprintf("status %d", s)
}

// maxTornRetries bounds re-reads of a g that changed while it was read.
const maxTornRetries = 5

// Goroutine is one runtime.g as read from the target.
type Goroutine struct {
	Addr uint64 // runtime address of the g
	Goid Uint
	// Status is runtime.g.atomicstatus without the scan bit; StatusName is
	// what the runtime prints ("waiting", "running", ...); Scan is the GC's
	// scan bit (0x1000).
	Status     Uint
	StatusName string
	Scan       bool
	// WaitReason is read only while the goroutine is waiting (it is stale
	// otherwise): "finalizer wait", "chan receive", ...
	WaitReason Text
	// WaitSince is CLOCK_MONOTONIC nanoseconds of the start of the first GC
	// that saw the goroutine blocked; unknown until a GC has run since.
	WaitSince  Int
	ParentGoid Uint
	// StartFunc is the goroutine's function; CreatedBy the go statement.
	StartPC   Uint
	StartFunc string
	CreatedBy *Frame
	// TID is the thread (m.procid) running the goroutine, while it runs.
	TID Uint
	// SchedSP and SchedPC are the saved registers (g.sched), as read; TopSP
	// is g.stktopsp, the stack pointer its first function was entered with
	// (0 when unknown). StackLo and StackHi bound its stack.
	SchedSP, SchedPC, TopSP uint64
	StackLo, StackHi        uint64
	// RunningCleanups is g.runningCleanups (Go 1.25+): a cleanup goroutine
	// is inside a block of cleanups.
	RunningCleanups Bool
	// Stack is innermost first, with inlined calls expanded. It is nil when
	// no stack can be read (StackErr says why, e.g. the goroutine is running
	// on a thread whose registers are not in memory).
	Stack    []Frame
	StackErr string
	// Retries counts re-reads caused by the goroutine changing while read.
	Retries int
}

// Frame is one logical stack frame.
type Frame struct {
	Func    string // pclntab name; PrintName gives the runtime's form
	File    string // "" when unknown
	Line    int
	PC      uint64 // runtime address: return address, or the interrupted pc
	Entry   uint64 // runtime address of the physical function
	Offset  uint64 // PC - Entry, printed by the runtime as "+0x.."
	SP      uint64 // the frame's stack pointer (physical frames)
	Inlined bool
}

// PrintName returns the function name as the runtime prints it.
func (f Frame) PrintName() string { return goexe.Frame{Func: f.Func}.PrintName() }

// Dead reports a g the runtime keeps for reuse (dead, or in 1.26+ dead and
// reserved for a cgo callback): the runtime's dumps leave these out.
func (g *Goroutine) Dead() bool {
	return g.Status.Known && (g.Status.V == gDead || g.StatusName == "waiting for cgo callback")
}

// Goroutine reads the g at runtime address gaddr, with its stack.
func (r *Runtime) Goroutine(gaddr uint64) (*Goroutine, error) {
	return r.goroutine(gaddr, true)
}

func (r *Runtime) goroutine(gaddr uint64, withStack bool) (*Goroutine, error) {
	if gaddr == 0 {
		return nil, fmt.Errorf("nil g pointer")
	}
	L := r.g
	buf := make([]byte, L.size)
	check := make([]byte, L.prefix)
	var last *Goroutine
	for attempt := 0; attempt <= maxTornRetries; attempt++ {
		if err := procmem.ReadFull(r.mem, buf, gaddr); err != nil {
			return nil, fmt.Errorf("reading g at %#x: %w", gaddr, err)
		}
		g := r.decodeG(gaddr, gWords(buf))
		g.Retries = attempt
		if withStack {
			r.readStack(g, gWords(buf))
		} else {
			g.StackErr = "not read"
		}
		if err := procmem.ReadFull(r.mem, check, gaddr); err != nil {
			return nil, fmt.Errorf("re-reading g at %#x: %w", gaddr, err)
		}
		if bytes.Equal(check, buf[:L.prefix]) {
			return g, nil
		}
		last = g
	}
	last.Stack = nil
	last.StackErr = fmt.Sprintf("goroutine kept changing while read (%d attempts)", maxTornRetries+1)
	return last, nil
}

// decodeG fills the header fields from a copy of the g.
func (r *Runtime) decodeG(addr uint64, w gWords) *Goroutine {
	L := r.g
	minor := r.b.Version.Minor
	raw := w.u32(L.status)
	st := raw &^ gScan
	g := &Goroutine{
		Addr:       addr,
		Goid:       knownUint(w.u64(L.goid)),
		Status:     knownUint(uint64(st)),
		StatusName: statusName(st, minor),
		Scan:       raw&gScan != 0,
		StartPC:    knownUint(w.u64(L.startPC)),
		TID:        unknownUint("not running"),
		SchedSP:    w.u64(L.schedSP),
		SchedPC:    w.u64(L.schedPC),
		StackLo:    w.u64(L.stackLo),
		StackHi:    w.u64(L.stackHi),
	}
	if L.hasTopSP {
		g.TopSP = w.u64(L.stkTopSP)
	}
	if L.hasClean {
		g.RunningCleanups = knownBool(w.u8(L.cleanupOn) != 0)
	} else {
		g.RunningCleanups = unknownBool("runtime.g has no runningCleanups before go1.25")
	}
	if L.hasParent {
		g.ParentGoid = knownUint(w.u64(L.parentGoid))
	} else {
		g.ParentGoid = unknownUint("runtime.g has no parentGoid before go1.21")
	}
	if st == gWaiting {
		v := int64(w.u8(L.waitReason))
		if name, ok := r.l.WaitReason(v); ok {
			g.WaitReason = knownText(name)
		} else {
			g.WaitReason = unknownText("wait reason %d has no name for %s", v, r.b.GoVersion)
		}
		if ws := int64(w.u64(L.waitSince)); ws > 0 {
			g.WaitSince = knownInt(ws)
		} else {
			g.WaitSince = unknownInt("no GC since it blocked")
		}
	} else {
		g.WaitReason = unknownText("not waiting (status %s)", g.StatusName)
		g.WaitSince = unknownInt("not waiting (status %s)", g.StatusName)
	}
	if fr := r.symbolize(r.link(g.StartPC.V), false); len(fr) > 0 {
		g.StartFunc = fr[len(fr)-1].Func
	}
	g.CreatedBy = r.createdBy(w.u64(L.gopc))
	if st == gRunning || st == gSyscall {
		g.TID = r.tid(w.u64(L.m))
	}
	return g
}

// createdBy symbolizes the go statement's pc as the runtime's printcreatedby
// does: the physical function's name, the file:line at pc-1.
func (r *Runtime) createdBy(gopc uint64) *Frame {
	if gopc == 0 {
		return nil
	}
	fr := r.symbolize(r.link(gopc), true)
	if len(fr) == 0 {
		return nil
	}
	phys := fr[len(fr)-1]
	return &Frame{
		Func: phys.Func, File: fr[0].File, Line: fr[0].Line,
		PC: gopc, Entry: phys.Entry + r.bias, Offset: gopc - (phys.Entry + r.bias),
	}
}

// tid reads m.procid of the m running a goroutine.
func (r *Runtime) tid(m uint64) Uint {
	if m == 0 {
		return unknownUint("g.m is nil")
	}
	if !r.g.mProcidOK {
		return unknownUint("offset of runtime.m.procid unknown")
	}
	v, err := procmem.ReadU64(r.mem, m+r.g.mProcid)
	if err != nil {
		return unknownUint("reading m.procid: %v", err)
	}
	return knownUint(v)
}
