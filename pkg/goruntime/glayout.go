package goruntime

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// gLayout holds the runtime.g and runtime.m offsets goroutine decoding needs.
type gLayout struct {
	stackLo, stackHi, m       uint64
	schedSP, schedPC, schedBP uint64
	schedLR                   uint64
	syscallSP, syscallPC      uint64
	status, goid, waitSince   uint64
	waitReason, gopc, startPC uint64
	parentGoid                uint64 // 0 when the version has none (1.20)
	hasParent                 bool
	size                      uint64 // bytes of g read at once
	prefix                    uint64 // g[0:prefix] re-read to detect tearing: stack bounds, sched, status
	mProcid                   uint64
	mProcidOK                 bool
	// stkTopSP is runtime.g.stktopsp: the SP the goroutine's first
	// function was entered with (0 offset means unknown, see hasTopSP).
	stkTopSP  uint64
	hasTopSP  bool
	cleanupOn uint64 // runtime.g.runningCleanups (1.25+)
	hasClean  bool
}

func newGLayout(l goexe.Layout) (gLayout, error) {
	var g gLayout
	need := map[string]*uint64{
		"runtime.g.stack.lo": &g.stackLo, "runtime.g.stack.hi": &g.stackHi, "runtime.g.m": &g.m,
		"runtime.g.sched.sp": &g.schedSP, "runtime.g.sched.pc": &g.schedPC, "runtime.g.sched.bp": &g.schedBP,
		"runtime.g.sched.lr": &g.schedLR, "runtime.g.syscallsp": &g.syscallSP, "runtime.g.syscallpc": &g.syscallPC,
		"runtime.g.atomicstatus": &g.status, "runtime.g.goid": &g.goid, "runtime.g.waitsince": &g.waitSince,
		"runtime.g.waitreason": &g.waitReason, "runtime.g.gopc": &g.gopc, "runtime.g.startpc": &g.startPC,
	}
	for k, p := range need {
		o, ok := l.Off(k)
		if !ok {
			return gLayout{}, fmt.Errorf("offset of %s unknown: %w", k, ErrUnknown)
		}
		*p = uint64(o)
		g.size = max(g.size, uint64(o)+8)
	}
	if o, ok := l.Off("runtime.g.parentGoid"); ok {
		g.parentGoid, g.hasParent = uint64(o), true
		g.size = max(g.size, uint64(o)+8)
	}
	if o, ok := l.Off("runtime.g.stktopsp"); ok {
		g.stkTopSP, g.hasTopSP = uint64(o), true
		g.size = max(g.size, uint64(o)+8)
	}
	if o, ok := l.Off("runtime.g.runningCleanups"); ok {
		g.cleanupOn, g.hasClean = uint64(o), true
		g.size = max(g.size, uint64(o)+1)
	}
	if o, ok := l.Off("runtime.m.procid"); ok {
		g.mProcid, g.mProcidOK = uint64(o), true
	}
	g.prefix = g.status + 4
	if g.prefix < g.schedBP+8 || g.prefix > g.size {
		return gLayout{}, fmt.Errorf("runtime.g layout: status at %d before sched ends: %w", g.status, ErrUnknown)
	}
	return g, nil
}

// gWords decodes little-endian fields of a g copy.
type gWords []byte

func (w gWords) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(w[off:]) }
func (w gWords) u32(off uint64) uint32 { return binary.LittleEndian.Uint32(w[off:]) }
func (w gWords) u8(off uint64) uint8   { return w[off] }
