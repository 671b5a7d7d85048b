package profiles

import (
	"errors"
	"strings"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/target"
)

// DefaultMaxBytes is the default read budget of one profile: a heap
// profile reads about 250 bytes per allocation site, a goroutine profile
// about 1 KiB per goroutine (measured: docs/profiles.md), so some 200 000
// sites or 60 000 goroutines fit.
const DefaultMaxBytes = 64 << 20

// Target is the process to profile.
type Target struct {
	PID int
	// Procs reads /proc; its procfs root is the one every read uses (see
	// pkg/target).
	Procs *process.Reader
	// Binary is the process's executable, as goexe.Cache.ForPID (or
	// target.Inspect) returned it.
	Binary *goexe.Binary
	// Process, when set, is the process as the caller already read it
	// (target.Inspect); nil reads it.
	Process *process.Process
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
	t    *target.Target
	mem  *procmem.Budget
	maps []heapprof.Mapping
}

func (r *reader) close() { r.t.Close() }

// open opens t (pkg/target) with a memory reader of the profile's own,
// bounded by o.MaxBytes.
func (t Target) open(o Options) (*reader, error) {
	if t.Binary == nil || t.Procs == nil {
		return nil, errors.New("profiles: Target needs Binary and Procs")
	}
	tg, err := target.Open(target.Config{PID: t.PID, Procs: t.Procs, Binary: t.Binary, Process: t.Process})
	if err != nil {
		return nil, err
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return &reader{t: tg, mem: procmem.NewBudget(tg.Mem, o.MaxBytes), maps: exeMappings(t.Binary, tg.Maps)}, nil
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
