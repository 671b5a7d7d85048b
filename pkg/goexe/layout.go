package goexe

import (
	"fmt"
	"strconv"
)

// layoutStruct is one runtime struct memsight reads and the fields it needs.
// Key is the canonical name used in Layout.Fields ("runtime.finBlock" for
// finblock before 1.25); Names are the DWARF names it has had.
type layoutStruct struct {
	Key    string
	Names  []string
	Fields []string // dotted paths inside the struct, e.g. "sched.sp"
}

// layoutSpec lists every field of Layout. A field a version does not have
// (g.parentGoid before 1.21, cleanupQueue before 1.25) is simply absent.
func layoutSpec() []layoutStruct {
	return []layoutStruct{
		{"runtime.g", []string{"runtime.g"}, []string{
			"stack.lo", "stack.hi", "m", "sched.sp", "sched.pc", "sched.g", "sched.ctxt",
			"sched.lr", "sched.bp", "syscallsp", "syscallpc", "stktopsp", "atomicstatus",
			"goid", "waitsince", "waitreason", "parentGoid", "gopc", "startpc", "runningCleanups",
			"waiting", "xRegs.state",
		}},
		{"runtime.m", []string{"runtime.m"}, []string{"g0", "procid", "curg", "p", "id"}},
		{"runtime.p", []string{"runtime.p"}, []string{"id", "status", "m", "cleanups", "cleanupsQueued", "mcache"}},
		// A P's active tiny block: the GC marks it (gcMarkTinyAllocs).
		{"runtime.mcache", []string{"runtime.mcache"}, []string{"tiny"}},
		{"runtime.finBlock", []string{"runtime.finBlock", "runtime.finblock"}, []string{"alllink", "next", "cnt", "fin"}},
		{"runtime.finalizer", []string{"runtime.finalizer"}, []string{"fn", "arg", "nret", "fint", "ot"}},
		{"runtime.cleanupQueue", []string{"runtime.cleanupQueue"}, []string{
			"workUnits", "asleep", "running", "ng", "needg", "queued", "executed", "all",
		}},
		// The block a cleanup goroutine runs (1.25+): n entries, each a
		// *funcval (1.25) or a cleanupFn (1.26+), cleared before its call.
		{"runtime.cleanupBlock", []string{"runtime.cleanupBlock"}, []string{"cleanupBlockHeader.n", "cleanupBlockHeader.alllink", "cleanups"}},
		{"runtime.cleanupFn", []string{"runtime.cleanupFn"}, []string{"call", "fn", "arg"}},
		{"runtime.moduledata", []string{"runtime.moduledata"}, []string{
			"pcHeader", "text", "etext", "noptrdata", "enoptrdata", "data", "edata",
			"bss", "ebss", "noptrbss", "enoptrbss", "gofunc",
			"gcdatamask.n", "gcdatamask.bytedata", "gcbssmask.n", "gcbssmask.bytedata", "next",
		}},
		{"runtime.gcControllerState", []string{"runtime.gcControllerState"}, []string{
			"gcPercent", "memoryLimit", "heapMinimum", "lastHeapGoal", "heapLive",
			"heapMarked", "heapInUse", "totalAlloc", "totalFree",
			"gcPercentHeapGoal", "sweepDistMinTrigger", "triggered", "heapFree", "mappedReady",
		}},
		{"runtime.mstats", []string{"runtime.mstats"}, []string{
			"heapStats", "pause_total_ns", "pause_ns", "numgc", "numforcedgc", "last_gc_nanotime", "last_gc_unix",
		}},
		// The heap profile (pkg/heapprof): a bucket header is followed by
		// nstk stack words, then a memRecord. memRecordCycle lost
		// alloc_bytes and free_bytes in 1.27 (bytes = count * bucket.size).
		{"runtime.bucket", []string{"runtime.bucket"}, []string{"next", "allnext", "typ", "hash", "size", "nstk"}},
		{"runtime.memRecord", []string{"runtime.memRecord"}, []string{"active", "future"}},
		{"runtime.memRecordCycle", []string{"runtime.memRecordCycle"}, []string{"allocs", "frees", "alloc_bytes", "free_bytes"}},
		{"runtime.mProfCycleHolder", []string{"runtime.mProfCycleHolder"}, []string{"value"}},
		// The heap, for the reachability mark (pkg/goruntime/leak): spans
		// found through mheap_.arenas, their objects' pointer layout from
		// the heap bits, a malloc header or span.largeType (1.22+), the
		// specials that keep objects alive, and the sudogs blocked
		// goroutines wait with (elem and c became maybeTraceablePtr in 1.26).
		{"runtime.mheap", []string{"runtime.mheap"}, []string{"arenas", "allArenas", "heapArenas", "allspans"}},
		{"runtime.heapArena", []string{"runtime.heapArena"}, []string{"spans", "pageInUse", "pageSpecials"}},
		{"runtime.mspan", []string{"runtime.mspan"}, []string{
			"startAddr", "npages", "freeindex", "nelems", "freeIndexForScan", "allocBits",
			"spanclass", "state", "elemsize", "limit", "specials", "largeType",
		}},
		{"runtime.special", []string{"runtime.special"}, []string{"next", "offset", "kind"}},
		{"runtime.specialfinalizer", []string{"runtime.specialfinalizer"}, []string{"fn"}},
		{"runtime.specialCleanup", []string{"runtime.specialCleanup"}, []string{"cleanup", "fn"}},
		{"runtime.sudog", []string{"runtime.sudog"}, []string{
			"g", "next", "prev", "elem", "elem.vp", "elem.vu", "waitlink", "c",
			"c.maybeTraceablePtr.vp", "c.maybeTraceablePtr.vu",
		}},
		{"runtime.spanInlineMarkBits", []string{"runtime.spanInlineMarkBits"}, []string{"marks", "class"}},
		{"runtime.stackObjectRecord", []string{"runtime.stackObjectRecord"}, []string{"off", "size"}},
		// The extended registers an async-preempted goroutine saved (1.26+).
		{"runtime.xRegState", []string{"runtime.xRegState"}, []string{"regs"}},
		// abi.Type (runtime._type before 1.21): the fields a malloc header's
		// type gives the mark; the names changed in 1.21.
		{"internal/abi.Type", []string{"internal/abi.Type", "runtime._type"}, []string{
			"Size_", "PtrBytes", "TFlag", "GCData", "size", "ptrdata", "tflag", "gcdata",
		}},
	}
}

// SizeKey returns the Layout.Consts key holding the size of a struct, e.g.
// SizeKey("runtime.g") = "sizeof.runtime.g".
func SizeKey(structKey string) string { return "sizeof." + structKey }

// WaitReasonKey returns the Layout.Names key of a waitReason value
// ("waitReason.10"); the name is what the runtime prints ("finalizer wait").
func WaitReasonKey(v int64) string { return "waitReason." + strconv.FormatInt(v, 10) }

// Size returns the size of a runtime struct (canonical key) and whether it is known.
func (l Layout) Size(structKey string) (int64, bool) {
	v, ok := l.Consts[SizeKey(structKey)]
	return v, ok
}

// WaitReason returns the name of a g.waitreason value, or false when unknown.
func (l Layout) WaitReason(v int64) (string, bool) {
	s, ok := l.Names[WaitReasonKey(v)]
	return s, ok
}

// findLayout returns the layout computed by initExt (DWARF, else the
// per-version table), with the wait reasons of the binary or the table.
func findLayout(b *Binary) Layout { return b.ext.layout }

// computeLayout is DWARF first, then the table for the binary's version.
func computeLayout(b *Binary) (Layout, error) {
	var l Layout
	var dwarfErr error
	if b.HasDWARF {
		l, dwarfErr = dwarfLayout(b)
	} else {
		dwarfErr = ErrNoDWARF
	}
	if dwarfErr != nil {
		t, err := tableLayout(b.Version, b.Arch)
		if err != nil {
			return Layout{Source: "unknown"}, fmt.Errorf("struct layout: dwarf: %w; table: %w", dwarfErr, err)
		}
		l = t
		if b.HasDWARF {
			// Say why the binary's own DWARF was not used.
			l.Source += " (DWARF unusable: " + dwarfErr.Error() + ")"
		}
	}
	names, src := binaryWaitReasons(b)
	if names == nil {
		names, src = tableWaitReasons(b.Version)
	}
	if names != nil {
		setWaitReasons(&l, names)
		l.Names["waitReason.source"] = src
	}
	return l, nil
}

// setWaitReasons fills Consts ("waitReason.<name>" -> value) and Names
// ("waitReason.<value>" -> name) from the runtime's waitReasonStrings.
func setWaitReasons(l *Layout, names []string) {
	if l.Consts == nil {
		l.Consts = map[string]int64{}
	}
	if l.Names == nil {
		l.Names = map[string]string{}
	}
	for i, n := range names {
		if n == "" && i != 0 {
			continue
		}
		l.Names[WaitReasonKey(int64(i))] = n
		if n != "" {
			if _, dup := l.Consts["waitReason."+n]; !dup {
				l.Consts["waitReason."+n] = int64(i)
			}
		}
	}
}
