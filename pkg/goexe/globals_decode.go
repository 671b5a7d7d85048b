package goexe

import (
	"errors"
	"fmt"
)

// decodeGlobals locates the globals without .symtab, each by decoding one or
// more small runtime functions that reference it PC-relatively
// (RIP-relative on amd64, ADRP pairs on arm64). Every rule either checks
// the instruction pattern it relies on or cross-checks a second function;
// anything else leaves the global unknown. Source is "decode:<function>".
func decodeGlobals(b *Binary) RuntimeGlobals {
	d := &globalDecoder{b: b, bodies: map[string]decodedFunc{}}
	var g RuntimeGlobals
	set := func(dst *Global, addr uint64, src string, err error) {
		if err != nil {
			*dst = Global{Err: err.Error()}
			return
		}
		*dst = Global{Addr: addr, Source: "decode:" + src}
	}
	runner := "runtime.runfinq"
	if b.Version.AtLeast(1, 25) {
		runner = "runtime.runFinalizers"
	}
	a, err := d.fing(runner)
	set(&g.Fing, a, runner, err)
	a, err = d.fingStatus(runner)
	set(&g.FingStatus, a, "runtime.createfing", err)
	a, err = d.finq(runner)
	set(&g.Finq, a, runner, err)
	if b.Version.AtLeast(1, 25) {
		q, e, err := d.finCounters(runner)
		set(&g.FinQueued, q, "runtime.finReadQueueStats", err)
		set(&g.FinExecuted, e, "runtime.finReadQueueStats", err)
		a, src, err := d.receiver("runtime.(*cleanupQueue).", 0,
			"runtime.runCleanups", "runtime.(*activeSweep).end", "runtime.freeSpecial")
		set(&g.GCCleanups, a, src, err)
	} else {
		none := fmt.Errorf("no such global before go1.25 (%s)", b.GoVersion)
		set(&g.FinQueued, 0, "", none)
		set(&g.FinExecuted, 0, "", none)
		set(&g.GCCleanups, 0, "", none)
	}
	a, err = d.sliceAfterLock("runtime.forEachG")
	set(&g.AllGs, a, "runtime.forEachG", err)
	a, err = d.allglen()
	set(&g.AllGLen, a, "runtime.forEachGRace", err)
	a, err = d.allp()
	set(&g.AllP, a, "runtime.timeSleepUntil", err)
	a, src, err := d.receiver("runtime.(*gcControllerState).", 0,
		"runtime.gcinit", "runtime.gcControllerCommit", "runtime.gcTrigger.test")
	set(&g.GCController, a, src, err)
	if off, ok := b.ext.layout.Off("runtime.mstats.heapStats"); ok {
		a, src, err = d.receiver("runtime.(*consistentHeapStats).", uint64(off),
			"runtime.(*mcache).refill", "runtime.(*mcache).allocLarge", "runtime.(*mheap).grow")
	} else {
		err = errors.New("offset of runtime.mstats.heapStats unknown")
	}
	set(&g.Memstats, a, src, err)
	a, err = d.memProfileRate()
	set(&g.MemProfileRate, a, "runtime.allocmcache", err)
	a, err = d.onlyLoad("runtime.mProf_FlushLocked", 8)
	set(&g.MBuckets, a, "runtime.mProf_FlushLocked", err)
	a, src, err = d.receiver("runtime.(*mheap).", 0,
		"runtime.(*mcentral).grow", "runtime.(*mcache).allocLarge", "runtime.(*mheap).allocManual", "runtime.stackalloc")
	set(&g.MHeap, a, src, err)
	a, err = d.allfin()
	set(&g.AllFin, a, "runtime.queuefinalizer", err)
	return g
}

type decodedFunc struct {
	fn    Func
	insts []Inst
	err   error
}

// globalDecoder decodes each function once.
type globalDecoder struct {
	b      *Binary
	bodies map[string]decodedFunc
}

func (d *globalDecoder) body(name string) ([]Inst, error) {
	if f, ok := d.bodies[name]; ok {
		return f.insts, f.err
	}
	fn, insts, err := d.b.funcBody(name)
	d.bodies[name] = decodedFunc{fn, insts, err}
	return insts, err
}

// callsTo reports whether in is a direct call to a function named name.
func (d *globalDecoder) callsTo(in Inst, name string) bool {
	if !in.Call || in.Target == 0 {
		return false
	}
	f, ok := d.b.FuncAt(in.Target)
	return ok && f.Entry == in.Target && f.Name == name
}

// calleeName returns the name of a direct call's target, or "".
func (d *globalDecoder) calleeName(in Inst) string {
	if !in.Call || in.Target == 0 {
		return ""
	}
	if f, ok := d.b.FuncAt(in.Target); ok && f.Entry == in.Target {
		return f.Name
	}
	return ""
}

func isLoad(in Inst, size int) bool {
	return in.MemRef != 0 && in.Load && !in.Store && in.MemSize == size
}
func isStore(in Inst, size int) bool { //nolint:unparam // the width is part of what a rule matches
	return in.MemRef != 0 && in.Store && !in.Load && in.MemSize == size
}
func writes(in Inst, size int) bool { return in.MemRef != 0 && in.Store && in.MemSize == size }

// afterCall returns the instructions after the first direct call to callee.
func (d *globalDecoder) afterCall(insts []Inst, callee string) ([]Inst, bool) {
	for i, in := range insts {
		if d.callsTo(in, callee) {
			return insts[i+1:], true
		}
	}
	return nil, false
}
