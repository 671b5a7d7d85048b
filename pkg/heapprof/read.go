package heapprof

import (
	"errors"
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
)

// Sentinel errors callers branch on.
var (
	// ErrNotRecorded means the process's MemProfileRate is 0: the runtime
	// records no heap profile. The error is a *NotRecordedError.
	ErrNotRecorded = errors.New("no heap profile recorded")
	// ErrUnknown means an address or struct layout heapprof needs is
	// unknown for the binary.
	ErrUnknown = errors.New("heap profile address or layout unknown")
	// ErrCorrupt means the bucket list read from the process is not a
	// well-formed list of heap profile buckets.
	ErrCorrupt = errors.New("heap profile bucket list is malformed")
)

// NotRecordedError is returned by Read when MemProfileRate is 0.
type NotRecordedError struct {
	// Reason says why, for example "MemProfileRate=0: runtime/pprof is not
	// linked in" (the linker's disableMemoryProfiling).
	Reason string
}

func (e *NotRecordedError) Error() string   { return "no heap profile recorded (" + e.Reason + ")" }
func (e *NotRecordedError) Is(t error) bool { return t == ErrNotRecorded }

// DefaultMaxBuckets is the default bound of the bucket walk.
const DefaultMaxBuckets = 1 << 20

// Options configure Read.
type Options struct {
	// MaxBuckets bounds how many buckets are read (0: DefaultMaxBuckets).
	// The runtime never frees a bucket; a program with more allocation
	// sites than this gets a Truncated snapshot.
	MaxBuckets int
}

// Snapshot is the heap profile of a process as runtime.MemProfile(p, true)
// would have returned it when it was read.
type Snapshot struct {
	// Time is when the list was read.
	Time time.Time
	// Rate is the process's runtime.MemProfileRate: one sample per Rate
	// allocated bytes on average.
	Rate int64
	// Cycle is the heap profile cycle (runtime.mProfCycle) whose published
	// counts the records hold.
	Cycle uint32
	// Records has one entry per bucket, newest first like the runtime's
	// list, including buckets whose counts are all zero.
	Records []Record
	// Truncated reports that the walk stopped after Options.MaxBuckets.
	Truncated bool
	// Moving reports that the runtime moved to another heap profile cycle
	// while each of the attempts to read the list ran: some records may be
	// one GC cycle ahead of the others.
	Moving bool

	version   goexe.Version
	withBytes bool // memRecordCycle holds bytes (up to 1.26), see scale.go
}

// Record is one bucket: the counts of sampled allocations with one stack
// and object size.
type Record struct {
	// Addr is the bucket's address in the process.
	Addr uint64
	// ObjectSize is the bucket's allocation size in bytes.
	ObjectSize int64
	// Stack holds the allocation's return PCs as the runtime recorded them
	// (addresses in the process, one per logical frame, innermost first).
	Stack []uint64

	AllocObjects, FreeObjects int64
	AllocBytes, FreeBytes     int64
}

// InUseObjects returns the number of sampled objects not yet freed.
func (r Record) InUseObjects() int64 { return r.AllocObjects - r.FreeObjects }

// InUseBytes returns the bytes of sampled objects not yet freed.
func (r Record) InUseBytes() int64 { return r.AllocBytes - r.FreeBytes }

// readAttempts is how often Read walks the list when a new cycle is
// published during the walk.
const readAttempts = 3

// Read reads the heap profile of a process running binary b through mem.
// bias is the load bias of a PIE process (0 for ET_EXEC): runtime address =
// link-time address + bias. It never writes to the process.
//
// Errors wrap ErrNotRecorded (MemProfileRate is 0), ErrUnknown, ErrCorrupt
// or procmem's errors.
func Read(b *goexe.Binary, mem procmem.Reader, bias uint64, o Options) (*Snapshot, error) {
	if b == nil || mem == nil {
		return nil, errors.New("heapprof: nil binary or memory reader")
	}
	if b.Arch != goexe.AMD64 && b.Arch != goexe.ARM64 {
		return nil, fmt.Errorf("architecture %q: %w", b.Arch, goexe.ErrUnsupportedGo)
	}
	if o.MaxBuckets <= 0 {
		o.MaxBuckets = DefaultMaxBuckets
	}
	rateAddr, err := global(b.Globals.MemProfileRate, "MemProfileRate")
	if err != nil {
		return nil, err
	}
	rate, err := procmem.ReadU64(mem, rateAddr+bias)
	if err != nil {
		return nil, fmt.Errorf("reading runtime.MemProfileRate at %#x: %w", rateAddr+bias, err)
	}
	if int64(rate) <= 0 {
		return nil, notRecorded(b, int64(rate))
	}
	lay, err := newRecLayout(b)
	if err != nil {
		return nil, err
	}
	headAddr, err := global(b.Globals.MBuckets, "mbuckets")
	if err != nil {
		return nil, err
	}
	cycleAddr, _, err := cycleGlobal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrUnknown)
	}
	s := &Snapshot{Rate: int64(rate), version: b.Version, withBytes: lay.hasBytes}
	w := walker{mem: mem, lay: lay, max: o.MaxBuckets}
	cycleAddr += bias + lay.holderValue
	for attempt := 0; attempt < readAttempts; attempt++ {
		before, err := procmem.ReadU32(mem, cycleAddr)
		if err != nil {
			return nil, fmt.Errorf("reading runtime.mProfCycle at %#x: %w", cycleAddr, err)
		}
		head, err := procmem.ReadU64(mem, headAddr+bias)
		if err != nil {
			return nil, fmt.Errorf("reading runtime.mbuckets at %#x: %w", headAddr+bias, err)
		}
		raw, truncated, err := w.walk(head)
		if err != nil {
			return nil, err
		}
		after, err := procmem.ReadU32(mem, cycleAddr)
		if err != nil {
			return nil, fmt.Errorf("reading runtime.mProfCycle at %#x: %w", cycleAddr, err)
		}
		s.Time = time.Now()
		s.Cycle = before >> 1
		s.Records = publish(raw, s.Cycle, lay.hasBytes)
		s.Truncated = truncated
		s.Moving = before>>1 != after>>1
		if !s.Moving {
			break
		}
	}
	return s, nil
}

// global returns the link-time address of a known runtime global.
func global(g goexe.Global, name string) (uint64, error) {
	if !g.Known() {
		return 0, fmt.Errorf("runtime.%s: %s: %w", name, g.Err, ErrUnknown)
	}
	return g.Addr, nil
}

// notRecorded explains a MemProfileRate <= 0. The linker sets
// disableMemoryProfiling (and schedinit then MemProfileRate = 0) when the
// profile reader, runtime.memProfileInternal (runtime.MemProfile before
// 1.23), is unreachable; when it is linked in the program set the rate.
func notRecorded(b *goexe.Binary, rate int64) error {
	reader := "runtime.memProfileInternal"
	if !b.Version.AtLeast(1, 23) {
		reader = "runtime.MemProfile"
	}
	switch {
	case rate < 0:
		return &NotRecordedError{Reason: fmt.Sprintf("MemProfileRate=%d", rate)}
	case len(b.FuncsNamed(reader)) == 0:
		return &NotRecordedError{Reason: "MemProfileRate=0: runtime/pprof is not linked in"}
	}
	return &NotRecordedError{Reason: "MemProfileRate=0: set by the program"}
}
