package probe

import (
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// The layout of a probe's BPF cookie (bpf/include/memsight/cookie.h), from
// the object's enum cookie_layout: bits 0-15 an index (binconfigs entry or
// alloc_hits slot), bits 32-63 the probed function's size; an entry probe's
// offset from its function's entry in bits 16-31; an allocation probe's size
// mode in bits 16-23 and its offset in bits 24-31.
const (
	cookieIndexBits       = uint64(memsightCookieLayoutCOOKIE_INDEX_BITS)
	cookieEntryDeltaShift = uint64(memsightCookieLayoutCOOKIE_ENTRY_DELTA_SHIFT)
	cookieEntryDeltaBits  = uint64(memsightCookieLayoutCOOKIE_ENTRY_DELTA_BITS)
	cookieAllocModeShift  = uint64(memsightCookieLayoutCOOKIE_ALLOC_MODE_SHIFT)
	cookieAllocDeltaShift = uint64(memsightCookieLayoutCOOKIE_ALLOC_DELTA_SHIFT)
	cookieAllocDeltaBits  = uint64(memsightCookieLayoutCOOKIE_ALLOC_DELTA_BITS)
	cookieFuncSizeShift   = uint64(memsightCookieLayoutCOOKIE_FUNC_SIZE_SHIFT)
)

// funcBounds returns the offset of probe from entry and the size of the
// function starting at entry, when funcs knows it and both fit the cookie
// fields of deltaBits and of the bits above cookieFuncSizeShift.
func funcBounds(funcs FuncTable, entry, probe, deltaBits uint64) (delta, size uint64, ok bool) {
	if funcs == nil {
		return 0, 0, false
	}
	fn, found := funcs.FuncAt(entry)
	if !found || fn.Entry != entry || probe < entry || fn.End <= probe {
		return 0, 0, false
	}
	delta, size = probe-entry, fn.End-fn.Entry
	if delta >= 1<<deltaBits || size >= 1<<(64-cookieFuncSizeShift) {
		return 0, 0, false
	}
	return delta, size, true
}

// funcCookie packs an entry probe's offset from its function's entry and the
// function's size into the bits of the probe's BPF cookie above the index;
// 0 when unknown (the kernel side then filters no morestack re-execution).
func funcCookie(funcs FuncTable, entry, probe uint64) uint64 {
	delta, size, ok := funcBounds(funcs, entry, probe, cookieEntryDeltaBits)
	if !ok {
		return 0
	}
	return delta<<cookieEntryDeltaShift | size<<cookieFuncSizeShift
}

// allocCookie packs the bits of an allocation probe's BPF cookie above the
// index (its alloc_hits slot): where a hit's byte count is and, when funcs
// knows them, the probed function's bounds.
func allocCookie(funcs FuncTable, ap goexe.AllocProbe) (uint64, error) {
	var mode memsightAllocSizeMode
	switch ap.Size {
	case goexe.SizeArg1:
		mode = memsightAllocSizeModeALLOC_SIZE_ARG1
	case goexe.SizeArg2:
		mode = memsightAllocSizeModeALLOC_SIZE_ARG2
	case goexe.SizePagesArg2:
		mode = memsightAllocSizeModeALLOC_SIZE_PAGES_ARG2
	case goexe.SizeSpanArg2:
		mode = memsightAllocSizeModeALLOC_SIZE_SPAN_ARG2
	default:
		return 0, fmt.Errorf("unknown size source %q", ap.Size)
	}
	c := uint64(mode) << cookieAllocModeShift
	delta, size, ok := funcBounds(funcs, ap.Entry.Addr, ap.Best().Addr, cookieAllocDeltaBits)
	if !ok {
		return c, nil
	}
	return c | delta<<cookieAllocDeltaShift | size<<cookieFuncSizeShift, nil
}

// cookieWithIndex puts an index (a binconfigs entry or an alloc_hits slot)
// into the low bits of a cookie.
func cookieWithIndex(cookie uint64, index uint32) uint64 {
	return cookie | uint64(index)&(1<<cookieIndexBits-1)
}
