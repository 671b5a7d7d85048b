package heapprof

import (
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
)

// memProfile is runtime.memProfile, the bucketType of heap profile buckets.
const memProfile = 1

// recLayout is where a heap profile bucket keeps what heapprof reads, from
// the binary's DWARF or goexe's per-version table:
//
//	bucket {next, allnext *bucket; typ bucketType; hash, size, nstk uintptr}
//	stk    [nstk]uintptr
//	memRecord {active memRecordCycle; future [3]memRecordCycle}
//
// memRecordCycle is {allocs, frees, alloc_bytes, free_bytes uintptr} up to
// 1.26 and {allocs, frees uintptr} from 1.27 on, where the bytes are the
// counts times bucket.size.
type recLayout struct {
	header                   uint64 // sizeof(bucket): the stack starts there
	allnext, typ, size, nstk uint64 // offsets in the bucket header
	record                   uint64 // sizeof(memRecord)
	active, future           uint64 // offsets in memRecord
	cycle                    uint64 // sizeof(memRecordCycle)
	allocs, frees            uint64 // offsets in memRecordCycle
	allocBytes, freeBytes    uint64
	hasBytes                 bool   // memRecordCycle has alloc_bytes and free_bytes
	holderValue              uint64 // offset of mProfCycleHolder.value (a uint32)
	maxStack                 uint64 // the most stack words a bucket can hold
}

// futureCycles is len(memRecord{}.future) in every supported version.
const futureCycles = 3

// newRecLayout collects the offsets heapprof needs; any unknown one is an
// error wrapping ErrUnknown.
func newRecLayout(b *goexe.Binary) (recLayout, error) {
	l := b.Layout
	var err error
	size := func(s string) uint64 {
		v, ok := l.Size(s)
		if !ok || v <= 0 {
			if err == nil {
				err = fmt.Errorf("size of %s unknown for %s (layout %s): %w", s, b.GoVersion, l.Source, ErrUnknown)
			}
			return 0
		}
		return uint64(v)
	}
	off := func(f string) uint64 {
		v, ok := l.Off(f)
		if !ok || v < 0 {
			if err == nil {
				err = fmt.Errorf("offset of %s unknown for %s (layout %s): %w", f, b.GoVersion, l.Source, ErrUnknown)
			}
			return 0
		}
		return uint64(v)
	}
	r := recLayout{
		header:      size("runtime.bucket"),
		allnext:     off("runtime.bucket.allnext"),
		typ:         off("runtime.bucket.typ"),
		size:        off("runtime.bucket.size"),
		nstk:        off("runtime.bucket.nstk"),
		record:      size("runtime.memRecord"),
		active:      off("runtime.memRecord.active"),
		future:      off("runtime.memRecord.future"),
		cycle:       size("runtime.memRecordCycle"),
		allocs:      off("runtime.memRecordCycle.allocs"),
		frees:       off("runtime.memRecordCycle.frees"),
		holderValue: off("runtime.mProfCycleHolder.value"),
		maxStack:    1024, // maxProfStackDepth; b.stk() throws above it
	}
	if err != nil {
		return recLayout{}, err
	}
	if !b.Version.AtLeast(1, 23) {
		r.maxStack = 32 // maxStack
	}
	ab, ok1 := l.Off("runtime.memRecordCycle.alloc_bytes")
	fb, ok2 := l.Off("runtime.memRecordCycle.free_bytes")
	switch {
	case ok1 && ok2:
		r.allocBytes, r.freeBytes, r.hasBytes = uint64(ab), uint64(fb), true
	case !b.Version.AtLeast(1, 27):
		return recLayout{}, fmt.Errorf("offset of runtime.memRecordCycle.alloc_bytes unknown for %s (layout %s): %w", b.GoVersion, l.Source, ErrUnknown)
	}
	for _, f := range []uint64{r.allocs, r.frees, r.allocBytes, r.freeBytes} {
		if f+8 > r.cycle {
			return recLayout{}, fmt.Errorf("runtime.memRecordCycle layout of %s is inconsistent (field at %d, size %d): %w", b.GoVersion, f, r.cycle, goexe.ErrUnsupportedGo)
		}
	}
	for _, f := range []uint64{r.allnext, r.typ, r.size, r.nstk} {
		if f+8 > r.header {
			return recLayout{}, fmt.Errorf("runtime.bucket layout of %s is inconsistent (field at %d, size %d): %w", b.GoVersion, f, r.header, goexe.ErrUnsupportedGo)
		}
	}
	if r.future+futureCycles*r.cycle != r.record || r.active+r.cycle > r.future {
		return recLayout{}, fmt.Errorf("runtime.memRecord of %s is not {active; future [3]memRecordCycle} (sizes %d, %d): %w", b.GoVersion, r.record, r.cycle, goexe.ErrUnsupportedGo)
	}
	return r, nil
}
