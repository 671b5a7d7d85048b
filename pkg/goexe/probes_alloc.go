package goexe

import (
	"fmt"
	"sort"
	"strings"
)

// AllocKind says which allocation path an AllocProbe sits on.
type AllocKind string

// Allocation paths, from the rarest to the most frequent.
const (
	// AllocSpan is runtime.(*mcache).refill: the mcache takes a new span of
	// one size class, about once per span's worth of small allocations.
	AllocSpan AllocKind = "span"
	// AllocHeap is runtime.(*mheap).alloc: pages taken from the page heap
	// (for a new small-object span or a large object).
	AllocHeap AllocKind = "heap"
	// AllocLarge is an object larger than 32 KiB: runtime.mallocgcLarge
	// (Go 1.24+) or runtime.(*mcache).allocLarge (before).
	AllocLarge AllocKind = "large"
	// AllocObject is the mallocgc family: every heap allocation.
	AllocObject AllocKind = "object"
)

// AllocSize says where a probe hit finds the bytes it accounts for, in the
// Go register ABI's argument registers.
type AllocSize string

// Sources of an allocation probe's byte count.
const (
	SizeArg1      AllocSize = "arg1"           // argument 1 is the object size
	SizeArg2      AllocSize = "arg2"           // argument 2 is the object size
	SizePagesArg2 AllocSize = "pages_arg2"     // argument 2 is a page count (PageSize bytes each)
	SizeSpanArg2  AllocSize = "spanclass_arg2" // argument 2 is a spanClass: one span of its size class (SpanBytes)
)

// PageSize is the Go heap's page size (runtime._PageSize, 8 KiB on every
// platform and version memsight supports).
const PageSize = 8192

// AllocProbe is one allocation-path function memsight can probe at entry.
type AllocProbe struct {
	Kind AllocKind `json:"kind"`
	Size AllocSize `json:"size"`
	FuncProbe
}

// Name is the probed function's pclntab name.
func (p AllocProbe) Name() string { return p.Entry.Func }

// AllocPoints are the opt-in allocation probes of one binary.
type AllocPoints struct {
	// Slow are the allocation slow paths: refill, mheap.alloc and the large
	// allocation function. Their hits are a fraction of the allocations
	// (about one per span for small objects).
	Slow []AllocProbe `json:"slow,omitempty"`
	// Malloc is the mallocgc family, one probe per allocation: runtime.mallocgc
	// before Go 1.24; from 1.24 the functions mallocgc dispatches to, which
	// together see every allocation once (mallocgc itself would double the
	// hits and adds nothing), including Go 1.27's size-specialized
	// mallocgc*SC* functions that compiled code calls directly and their
	// slow paths. The large allocation function is in Slow.
	Malloc []AllocProbe `json:"malloc,omitempty"`
	// SpanBytes is the size of one span of each size class (indexed by size
	// class = spanClass >> 1), for SizeSpanArg2.
	SpanBytes []uint32 `json:"-"`
	// Missing maps a function name to why it is not probed.
	Missing map[string]string `json:"missing,omitempty"`
}

// spanPages is runtime.class_to_allocnpages (Go 1.20–1.24) alias
// internal/runtime/gc.SizeClassToNPages (1.25+): pages per span, per size
// class. The table is the same in every version memsight supports (checked
// against the binaries' own table by TestAllocSpanBytesMatchRuntime).
var spanPages = [...]uint8{0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5,
	4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4}

// AllocPoints locates the allocation probes by decoding the functions
// (entry and the prologue's cheap stack-check branch, as for every entry
// probe). It decodes a few dozen functions on each call (milliseconds):
// callers that need it repeatedly keep the result.
func (b *Binary) AllocPoints() AllocPoints {
	ap := AllocPoints{Missing: map[string]string{}}
	for _, n := range spanPages {
		ap.SpanBytes = append(ap.SpanBytes, uint32(n)*PageSize)
	}
	add := func(list *[]AllocProbe, name string, kind AllocKind, size AllocSize) {
		r, err := b.funcProbe(name)
		if err != nil {
			ap.Missing[name] = err.Error()
			return
		}
		if r.Cheap == nil {
			ap.Missing[name+".cheap"] = r.cheapWhy
		}
		*list = append(*list, AllocProbe{Kind: kind, Size: size, FuncProbe: r.FuncProbe})
	}
	add(&ap.Slow, "runtime.(*mcache).refill", AllocSpan, SizeSpanArg2)
	add(&ap.Slow, "runtime.(*mheap).alloc", AllocHeap, SizePagesArg2)
	if b.Version.AtLeast(1, 24) {
		add(&ap.Slow, "runtime.mallocgcLarge", AllocLarge, SizeArg1)
	} else {
		add(&ap.Slow, "runtime.(*mcache).allocLarge", AllocLarge, SizeArg2)
	}
	for _, name := range b.mallocFamily() {
		add(&ap.Malloc, name, AllocObject, SizeArg1)
	}
	return ap
}

// mallocFamily lists the functions of the mallocgc family in this binary,
// all with the object size as argument 1: mallocgc(size, typ, needzero)
// before Go 1.24; from 1.24 the functions it dispatches to,
// mallocgc{Tiny,SmallNoscan,SmallScanNoHeader,SmallScanHeader}, and in 1.27
// the size-specialized mallocgc{TinySC2,SmallNoScanSC*,SmallScanNoHeaderSC*}
// with their mallocgc*SlowPath (size, typ, needzero, spc, elemsize).
// mallocgcSmallNoscanReuse (1.26+, reached only from inside
// mallocgcSmallNoscan) takes the mcache first and is left out.
func (b *Binary) mallocFamily() []string {
	if !b.Version.AtLeast(1, 24) {
		return []string{"runtime.mallocgc"}
	}
	var names []string
	for _, name := range b.funcsWithPrefix("runtime.mallocgc") {
		rest := strings.TrimPrefix(name, "runtime.mallocgc")
		if !isIdent(rest) || strings.HasSuffix(rest, "Reuse") ||
			!(strings.HasPrefix(rest, "Tiny") || strings.HasPrefix(rest, "Small")) {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// isIdent reports whether s is a non-empty run of ASCII letters and digits
// (no closure suffix such as ".func1").
func isIdent(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// String describes the point for logs.
func (p AllocProbe) String() string {
	best := p.Best()
	return fmt.Sprintf("%s (%s, %s) at %#x", p.Name(), p.Kind, best.Inst, best.Addr)
}
