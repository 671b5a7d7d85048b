package profiles

import (
	"errors"
	"fmt"
	"strings"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
)

// DefaultMaxBytes is the default read budget of one profile: a heap
// profile reads about 250 bytes per allocation site, a goroutine profile
// about 1 KiB per goroutine (measured: docs/profiles.md), so some 200 000
// sites or 60 000 goroutines fit.
const DefaultMaxBytes = 64 << 20

// Target is the process to profile.
type Target struct {
	PID      int
	ProcRoot string // default /proc
	Procs    *process.Reader
	// Binary is the process's executable, as goexe.Cache.ForPID returned it.
	Binary *goexe.Binary
	// Comments are added to the profile (pprof shows them with -comments):
	// "pid=123", "pod=web-0", ...
	Comments []string
}

// Options bound one profile.
type Options struct {
	// MaxBytes is the read budget: the bytes read from the target (0:
	// DefaultMaxBytes). A profile that needs more fails with an error
	// wrapping procmem.ErrBudget.
	MaxBytes int64
	// MaxBuckets bounds the heap profile's allocation sites (0:
	// heapprof.DefaultMaxBuckets).
	MaxBuckets int
	// MaxGoroutines bounds the goroutines of a goroutine profile (0: the
	// census's default, 1<<20); MaxStacks the stacks read (0: 10000): the
	// goroutines beyond are counted in one "(stacks not read)" sample.
	MaxGoroutines, MaxStacks int
}

// reader is what one profile reads the target with.
type reader struct {
	mem    *procmem.Budget
	closer *procmem.Process
	bias   uint64
	maps   []heapprof.Mapping
}

func (r *reader) close() { r.closer.Close() }

// open prepares reading t: its executable mappings, the load bias and a
// memory reader of its own bounded by o.MaxBytes.
func (t Target) open(o Options) (*reader, error) {
	if t.Binary == nil || t.Procs == nil {
		return nil, errors.New("profiles: Target needs Binary and Procs")
	}
	maps, err := t.Procs.ExeMappings(t.PID)
	if err != nil {
		return nil, fmt.Errorf("reading the mappings of pid %d: %w", t.PID, err)
	}
	bias, err := loadBias(t.Binary, maps)
	if err != nil {
		return nil, fmt.Errorf("pid %d: %w", t.PID, err)
	}
	p, err := procmem.OpenWith(t.PID, procmem.Options{ProcRoot: t.ProcRoot})
	if err != nil {
		return nil, fmt.Errorf("opening the memory of pid %d: %w", t.PID, err)
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return &reader{mem: procmem.NewBudget(p, o.MaxBytes), closer: p, bias: bias, maps: exeMappings(t.Binary, maps)}, nil
}

// loadBias computes a PIE's load bias from its first PT_LOAD.
func loadBias(b *goexe.Binary, maps []process.Mapping) (uint64, error) {
	if !b.PIE {
		return 0, nil
	}
	if len(b.Segments) > 0 {
		if bias, ok := process.LoadBias(maps, b.Segments[0].Vaddr, b.Segments[0].Off); ok {
			return bias, nil
		}
	}
	return 0, errors.New("no mapping of its executable at file offset 0 (cannot compute the load bias)")
}

// exeMappings returns the executable mappings of the main executable, as
// runtime/pprof lists them.
func exeMappings(b *goexe.Binary, maps []process.Mapping) []heapprof.Mapping {
	id := heapprof.BuildID(b)
	var out []heapprof.Mapping
	for _, m := range maps {
		if strings.Contains(m.Perms, "x") {
			out = append(out, heapprof.Mapping{Start: m.Start, Limit: m.End, Offset: m.Offset, File: m.Path, BuildID: id})
		}
	}
	return out
}
