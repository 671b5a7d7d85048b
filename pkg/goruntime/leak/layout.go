package leak

import (
	"fmt"
	"strings"

	"github.com/memsight/memsight/pkg/goexe"
)

// Heap geometry of linux/amd64 and linux/arm64, the same in Go 1.20–1.27
// (runtime/malloc.go): 8 KiB pages, 64 MiB arenas, a one-entry L1 arena map
// and a 2^22-entry L2 map, and on amd64 arena indexes offset by
// arenaBaseOffset so that the negative half of the address space maps too.
const (
	pageSize       = 8192
	pagesPerArena  = 8192
	heapArenaBytes = pageSize * pagesPerArena
	arenaL2Entries = 1 << 22
	ptrSize        = 8
	// minSizeForMallocHeader: objects up to this size keep their pointer
	// bits at the end of their span (heapBitsInSpan, Go 1.22+).
	minSizeForMallocHeader = 512
	// mSpanInUse is the state of a span of heap objects.
	mSpanInUse = 1
	// tflagGCMaskOnDemand (abi.TFlagGCMaskOnDemand, 1.24+): GCData points
	// to a word holding the mask once built.
	tflagGCMaskOnDemand = 1 << 4
)

// arenaBaseOffset returns the runtime's arenaBaseOffset for an architecture.
func arenaBaseOffset(arch goexe.Arch) uint64 {
	if arch == goexe.AMD64 {
		return 0xffff800000000000
	}
	return 0
}

// layout holds every offset the mark reads, resolved once per binary.
type layout struct {
	minor int
	// g
	gStackLo, gStackHi, gSchedSP, gSchedPC, gSchedLR, gSchedCtxt uint64
	gSyscallSP, gSyscallPC, gStatus, gGoid, gWaitSince           uint64
	gWaitReason, gWaiting, gGopc, gStartPC                       uint64
	gXRegs                                                       uint64 // 0: none
	gSize                                                        uint64
	xRegsSize                                                    uint64
	// sudog: where the blocked-on channel and element are, and the words
	// the leak detector hides from the mark: c for a channel wait, elem
	// for a sync wait (both words of a maybeTraceablePtr since 1.26; its
	// uintptr half is never a pointer).
	sgElem, sgC, sgWaitlink uint64
	sgElemWords, sgCWords   []uint64
	sgSize                  uint64
	// heap
	mheapArenas, mheapArenaList                         uint64
	haSpans, haPageSpecials                             uint64
	msStart, msNpages, msNelems, msFreeIdx, msAllocBits uint64
	msSpanclass, msState, msElemsize, msSpecials        uint64
	msLargeType                                         uint64
	hasLargeType                                        bool
	msSize                                              uint64
	spOffset, spOffsetSize, spKind, spSize              uint64
	// heapBits: the 1.22+ heap layout (heap bits, malloc headers,
	// largeType); before it objects are scanned conservatively.
	heapBits bool
	// inlineMarkBits is the size of the Green Tea GC's mark bits at the end
	// of small-object spans (0 without Green Tea).
	inlineMarkBits uint64
	// finalizerKind is the special kind of a finalizer; -1 when unknown
	// (every special's object is then scanned).
	finalizerKind int
	// abi.Type
	tSize, tPtrBytes, tTFlag, tGCData uint64
	// moduledata
	mdData, mdEdata, mdBss, mdEbss, mdDataMaskN, mdDataMask uint64
	mdBssMaskN, mdBssMask, mdNext, mdSize                   uint64
	// finalizer and cleanup blocks
	fbAlllink, fbCnt, fbFin, finSize, fbSize uint64
	// P's mcache and its active tiny block
	pMcache, mcTiny                   uint64
	cqAll, cbAlllink, cbN, cbCleanups uint64
	cleanupEntry, cbSize              uint64
	hasCleanups                       bool
}

// resolveLayout collects the offsets; a missing one makes the mark
// impossible and the error names it.
func resolveLayout(b *goexe.Binary) (*layout, error) {
	l := b.Layout
	L := &layout{minor: b.Version.Minor}
	var missing []string
	off := func(dst *uint64, keys ...string) bool {
		for _, k := range keys {
			if v, ok := l.Off(k); ok {
				*dst = uint64(v)
				return true
			}
		}
		missing = append(missing, keys[0])
		return false
	}
	opt := func(dst *uint64, keys ...string) bool {
		for _, k := range keys {
			if v, ok := l.Off(k); ok {
				*dst = uint64(v)
				return true
			}
		}
		return false
	}
	size := func(dst *uint64, key string) {
		if v, ok := l.Size(key); ok && v > 0 {
			*dst = uint64(v)
			return
		}
		missing = append(missing, "sizeof "+key)
	}
	const g = "runtime.g."
	for _, f := range []struct {
		dst *uint64
		key string
	}{
		{&L.gStackLo, "stack.lo"}, {&L.gStackHi, "stack.hi"}, {&L.gSchedSP, "sched.sp"},
		{&L.gSchedPC, "sched.pc"}, {&L.gSchedLR, "sched.lr"}, {&L.gSchedCtxt, "sched.ctxt"},
		{&L.gSyscallSP, "syscallsp"}, {&L.gSyscallPC, "syscallpc"}, {&L.gStatus, "atomicstatus"},
		{&L.gGoid, "goid"}, {&L.gWaitSince, "waitsince"}, {&L.gWaitReason, "waitreason"},
		{&L.gWaiting, "waiting"}, {&L.gGopc, "gopc"}, {&L.gStartPC, "startpc"},
	} {
		if off(f.dst, g+f.key) {
			L.gSize = max(L.gSize, *f.dst+8)
		}
	}
	if opt(&L.gXRegs, g+"xRegs.state") {
		L.gSize = max(L.gSize, L.gXRegs+8)
		if v, ok := l.Size("runtime.xRegState"); ok && v > 0 {
			L.xRegsSize = uint64(v)
		} else {
			missing = append(missing, "sizeof runtime.xRegState")
		}
	}
	const sg = "runtime.sudog."
	off(&L.sgWaitlink, sg+"waitlink")
	size(&L.sgSize, "runtime.sudog")
	var vp, vu uint64
	if opt(&vp, sg+"elem.vp") && opt(&vu, sg+"elem.vu") {
		L.sgElem = vu
		L.sgElemWords = []uint64{vp, vu}
	} else if off(&L.sgElem, sg+"elem") {
		L.sgElemWords = []uint64{L.sgElem}
	}
	if opt(&vp, sg+"c.maybeTraceablePtr.vp") && opt(&vu, sg+"c.maybeTraceablePtr.vu") {
		L.sgC = vu
		L.sgCWords = []uint64{vp, vu}
	} else if off(&L.sgC, sg+"c") {
		L.sgCWords = []uint64{L.sgC}
	}
	off(&L.mheapArenas, "runtime.mheap.arenas")
	off(&L.mheapArenaList, "runtime.mheap.heapArenas", "runtime.mheap.allArenas")
	off(&L.haSpans, "runtime.heapArena.spans")
	off(&L.haPageSpecials, "runtime.heapArena.pageSpecials")
	const ms = "runtime.mspan."
	off(&L.msStart, ms+"startAddr")
	off(&L.msNpages, ms+"npages")
	off(&L.msNelems, ms+"nelems")
	off(&L.msFreeIdx, ms+"freeIndexForScan", ms+"freeindex")
	off(&L.msAllocBits, ms+"allocBits")
	off(&L.msSpanclass, ms+"spanclass")
	off(&L.msState, ms+"state")
	off(&L.msElemsize, ms+"elemsize")
	off(&L.msSpecials, ms+"specials")
	L.hasLargeType = opt(&L.msLargeType, ms+"largeType")
	size(&L.msSize, "runtime.mspan")
	off(&L.spOffset, "runtime.special.offset")
	off(&L.spKind, "runtime.special.kind")
	size(&L.spSize, "runtime.special")
	L.spOffsetSize = L.spKind - L.spOffset
	if L.spOffsetSize != 2 && L.spOffsetSize != 8 {
		L.spOffsetSize = 2
		if L.spSize >= 24 {
			L.spOffsetSize = 8
		}
	}
	off(&L.tSize, "internal/abi.Type.Size_", "internal/abi.Type.size")
	off(&L.tPtrBytes, "internal/abi.Type.PtrBytes", "internal/abi.Type.ptrdata")
	off(&L.tTFlag, "internal/abi.Type.TFlag", "internal/abi.Type.tflag")
	off(&L.tGCData, "internal/abi.Type.GCData", "internal/abi.Type.gcdata")
	const md = "runtime.moduledata."
	off(&L.mdData, md+"data")
	off(&L.mdEdata, md+"edata")
	off(&L.mdBss, md+"bss")
	off(&L.mdEbss, md+"ebss")
	off(&L.mdDataMaskN, md+"gcdatamask.n")
	off(&L.mdDataMask, md+"gcdatamask.bytedata")
	off(&L.mdBssMaskN, md+"gcbssmask.n")
	off(&L.mdBssMask, md+"gcbssmask.bytedata")
	off(&L.mdNext, md+"next")
	size(&L.mdSize, "runtime.moduledata")
	off(&L.pMcache, "runtime.p.mcache")
	off(&L.mcTiny, "runtime.mcache.tiny")
	const fb = "runtime.finBlock."
	off(&L.fbAlllink, fb+"alllink")
	off(&L.fbCnt, fb+"cnt")
	off(&L.fbFin, fb+"fin")
	size(&L.finSize, "runtime.finalizer")
	size(&L.fbSize, "runtime.finBlock")
	if b.Version.AtLeast(1, 25) {
		L.hasCleanups = true
		off(&L.cqAll, "runtime.cleanupQueue.all")
		off(&L.cbAlllink, "runtime.cleanupBlock.cleanupBlockHeader.alllink")
		off(&L.cbN, "runtime.cleanupBlock.cleanupBlockHeader.n")
		off(&L.cbCleanups, "runtime.cleanupBlock.cleanups")
		size(&L.cbSize, "runtime.cleanupBlock")
		L.cleanupEntry = ptrSize // 1.25: *funcval
		if v, ok := l.Size("runtime.cleanupFn"); ok && v > 0 {
			L.cleanupEntry = uint64(v)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s (layout %s) lacks %s: %w", b.GoVersion, l.Source, strings.Join(missing, ", "), ErrUnsupported)
	}
	L.heapBits = b.Version.AtLeast(1, 22) && L.hasLargeType
	L.inlineMarkBits = greenTeaMarkBits(b)
	L.finalizerKind = finalizerKind(b.Version)
	return L, nil
}

// greenTeaMarkBits returns the size of the Green Tea GC's inline mark bits
// (spanInlineMarkBits) in front of the heap bits of small-object spans: on
// by default since 1.26, an experiment in 1.25. DWARF gives the size the
// binary was built with (0 when built without it); the table the default.
func greenTeaMarkBits(b *goexe.Binary) uint64 {
	exp := "," + b.BuildSettings["GOEXPERIMENT"] + ","
	on := b.Version.AtLeast(1, 26)
	if strings.Contains(exp, ",greenteagc,") {
		on = true
	}
	if strings.Contains(exp, ",nogreenteagc,") {
		on = false
	}
	if !on || !b.Version.AtLeast(1, 25) {
		return 0
	}
	v, ok := b.Layout.Size("runtime.spanInlineMarkBits")
	if !ok || v < 0 {
		return 128 // 63 scan bits + owned + 63 mark bits + class
	}
	return uint64(v)
}

// finalizerKind is _KindSpecialFinalizer: 1 until Go 1.26 put the tiny-block
// special first. Versions after 1.27 are unknown.
func finalizerKind(v goexe.Version) int {
	switch {
	case v.Major == 1 && v.Minor <= 25:
		return 1
	case v.Major == 1 && v.Minor <= 27:
		return 2
	}
	return -1
}
