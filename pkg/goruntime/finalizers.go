package goruntime

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// fingStatus bits (mfinal.go, Go 1.20–1.27).
const (
	fingCreated          = 1
	fingRunningFinalizer = 2
	fingWait             = 4
	fingWake             = 8
)

// FinalizerState is the finalizer queue and goroutine of a process.
type FinalizerState struct {
	// Queued and Executed are the runtime's monotonic counters
	// (runtime.finqueued, runtime.finexecuted; Go 1.25+). Executed grows
	// once per drained block, so QueueLength = Queued - Executed is exactly
	// the runtime/metrics difference and overstates the backlog by up to one
	// block (101 finalizers).
	Queued, Executed, QueueLength Uint
	// Consistent reports that two reads of the counters in a row agreed.
	// When the runtime kept changing them (busy GC), the last read is kept:
	// executed is read before queued, so it never exceeds it, but the
	// length may include finalizers queued between the two reads.
	Consistent bool
	// Status is runtime.fingStatus; the flags decode it.
	Status Uint
	// Created: the finalizer goroutine exists. Running: a finalizer
	// function is executing right now (fingRunningFinalizer). Parked: the
	// goroutine waits for work (fingWait).
	Created, Running, Parked Bool
	// Goroutine is the finalizer goroutine (runtime.fing), nil when it does
	// not exist yet or could not be read (GoroutineErr says which).
	Goroutine    *Goroutine
	GoroutineErr string
	// Call is the finalizer call in progress, read from the runner's frame
	// while Running is set; nil otherwise or when unreadable (CallErr).
	Call    *FinalizerCall
	CallErr string
	// Pending counts the finalizers not yet finished from the queue blocks
	// themselves (runtime.finq and the blocks the runner has taken), exact
	// per finalizer: what Go 1.20–1.24, which have no counters, give for
	// the queue length. Unknown when a list is unreadable or too long.
	Pending Uint
}

// Finalizers reads the finalizer queue counters and the finalizer goroutine.
func (r *Runtime) Finalizers() (st FinalizerState, err error) {
	G := r.b.Globals
	fing, err := r.addr(G.Fing, "fing")
	if err != nil {
		return st, err
	}
	status, err := r.addr(G.FingStatus, "fingStatus")
	if err != nil {
		return st, err
	}
	// One system call: fing, fingStatus and, when known, both counters,
	// finexecuted before finqueued: both only grow, so executed <= queued
	// even when the target changes them in between. The counters are then
	// read again until two reads agree (a consistent snapshot).
	var fingBuf, statusBuf, qBuf, eBuf [8]byte
	spans := []procmem.Span{{Addr: fing, Buf: fingBuf[:]}, {Addr: status, Buf: statusBuf[:4]}}
	q, qErr := r.addr(G.FinQueued, "finqueued")
	e, eErr := r.addr(G.FinExecuted, "finexecuted")
	counters := qErr == nil && eErr == nil
	if counters {
		spans = append(spans, procmem.Span{Addr: e, Buf: eBuf[:]}, procmem.Span{Addr: q, Buf: qBuf[:]})
	}
	// The finalizer goroutine never changes once created: the g found last
	// time is read in the same system call (and checked below).
	var gBuf []byte
	if r.fingG != 0 {
		gBuf = make([]byte, r.g.size)
		spans = append(spans, procmem.Span{Addr: r.fingG, Buf: gBuf})
	}
	if err := procmem.ReadV(r.mem, spans...); err != nil {
		return st, fmt.Errorf("reading finalizer globals: %w", err)
	}
	stable := !counters && gBuf == nil
	for i := 0; i < maxTornRetries && !stable; i++ {
		var e2, q2 [8]byte
		var again []procmem.Span
		if counters {
			again = append(again, procmem.Span{Addr: e, Buf: e2[:]}, procmem.Span{Addr: q, Buf: q2[:]})
		}
		var prefix []byte
		if gBuf != nil {
			prefix = make([]byte, r.g.prefix)
			again = append(again, procmem.Span{Addr: r.fingG, Buf: prefix})
		}
		if err := procmem.ReadV(r.mem, again...); err != nil {
			return st, fmt.Errorf("reading finalizer counters: %w", err)
		}
		stable = e2 == eBuf && q2 == qBuf || !counters
		if gBuf != nil && !bytes.Equal(prefix, gBuf[:r.g.prefix]) {
			stable = false
			copy(gBuf, prefix) // re-read below, with the rest of the g
			gBuf = nil
		}
		eBuf, qBuf = e2, q2
		if gBuf == nil && r.fingG != 0 {
			break // the goroutine changed: read it on its own below
		}
	}
	le := binary.LittleEndian
	bits := le.Uint32(statusBuf[:])
	st.Status = knownUint(uint64(bits))
	st.Created = knownBool(bits&fingCreated != 0)
	st.Running = knownBool(bits&fingRunningFinalizer != 0)
	st.Parked = knownBool(bits&fingWait != 0)
	if counters {
		qv, ev := le.Uint64(qBuf[:]), le.Uint64(eBuf[:])
		st.Queued, st.Executed = knownUint(qv), knownUint(ev)
		st.Consistent = stable
		if ev > qv {
			st.QueueLength = unknownUint("finexecuted %d > finqueued %d", ev, qv)
		} else {
			st.QueueLength = knownUint(qv - ev)
		}
	} else {
		why := "no finqueued/finexecuted counters before go1.25 (--trace-finalizers counts them)"
		if r.b.Version.AtLeast(1, 25) {
			why = fmt.Sprintf("counter addresses unknown: %v / %v", qErr, eErr)
		}
		st.Queued, st.Executed, st.QueueLength = unknownUint("%s", why), unknownUint("%s", why), unknownUint("%s", why)
		st.Pending = unknownUint("%s", why)
	}
	if !counters {
		// Go 1.20–1.24: count the queue blocks once the call (if any) is known.
		defer func() {
			st.Pending = r.pendingFinalizers(st.Call)
			st.QueueLength = st.Pending
		}()
	}
	gp := le.Uint64(fingBuf[:])
	if gp == 0 {
		st.GoroutineErr = "finalizer goroutine not created yet"
		return st, nil
	}
	// Its stack matters only while a finalizer runs: the rest of the time
	// it parks in the runner, and its status says all.
	var g *Goroutine
	if gp == r.fingG && gBuf != nil && !st.Running.V {
		g = r.decodeG(gp, gWords(gBuf))
		g.StackErr = "not read"
	} else if g, err = r.goroutine(gp, st.Running.V); err != nil {
		st.GoroutineErr = err.Error()
		return st, nil
	}
	// fing's start function must be the finalizer runner: otherwise the
	// address of fing is wrong and nothing read through it can be trusted.
	want := "runtime.runfinq"
	if r.b.Version.AtLeast(1, 25) {
		want = "runtime.runFinalizers"
	}
	if g.StartFunc != want {
		st.GoroutineErr = fmt.Sprintf("g at %#x starts at %s, not %s: runtime.fing address is wrong", gp, g.StartFunc, want)
		return st, nil
	}
	st.Goroutine = g
	r.fingG = gp
	if st.Running.V {
		if st.Call, err = r.finalizerCall(g); err != nil {
			st.CallErr = err.Error()
		}
	}
	return st, nil
}

// pendingFinalizers adds up the queue blocks: finq's list, plus the chain
// the runner is working through when a finalizer call is in progress.
func (r *Runtime) pendingFinalizers(call *FinalizerCall) Uint {
	finq, err := r.addr(r.b.Globals.Finq, "finq")
	if err != nil {
		return unknownUint("%v", err)
	}
	cntOff, _, nextOff, _, capacity, err := r.finBlockGeometry()
	if err != nil {
		return unknownUint("%v", err)
	}
	head, err := procmem.ReadU64(r.mem, finq)
	if err != nil {
		return unknownUint("reading runtime.finq: %v", err)
	}
	var running int64
	if call != nil {
		if call.Chain < 0 {
			return unknownUint("the blocks the finalizer goroutine is running could not be read")
		}
		running = call.Chain
	}
	n := r.finChain(head, cntOff, nextOff, capacity, running)
	if n < 0 {
		return unknownUint("runtime.finq's blocks are unreadable or more than %d", maxFinBlocks)
	}
	return knownUint(uint64(n))
}
