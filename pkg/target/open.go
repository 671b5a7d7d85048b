package target

import (
	"errors"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
)

// Config says which process to open.
type Config struct {
	PID int
	// Procs reads /proc. Its procfs root (process.Config.ProcRoot, the
	// flag --path.procfs) is the only one used: the executable, the
	// mappings and the memory are all reached through it.
	Procs *process.Reader
	// Cache inspects the executable; unused when Binary is set.
	Cache *goexe.Cache
	// Binary, when set, is the process's executable as the caller already
	// inspected it (goexe.Cache.ForPID).
	Binary *goexe.Binary
	// Process, when set, is the process as the caller already read it.
	Process *process.Process
}

// Target is an opened process: what the commands, the agent's sessions
// and the profiles read.
type Target struct {
	PID int
	// Process is the process as it was at Open.
	Process process.Process
	// Binary is its executable.
	Binary *goexe.Binary
	// Maps are the mappings of the executable, as at Open.
	Maps []process.Mapping
	// Bias is the load bias: what to add to a link-time address (0 unless
	// the executable is a PIE).
	Bias uint64
	// Mem reads the process's memory; Close closes it.
	Mem *procmem.Process
	// Runtime decodes the Go runtime's state through Mem.
	Runtime *goruntime.Runtime

	procs *process.Reader
}

// Inspect reads the process and inspects its executable: the first half of
// Open, for callers that decide from the binary whether to go on (it
// fills cfg.Process and cfg.Binary for a later Open). Errors are as Open's.
func Inspect(cfg Config) (process.Process, *goexe.Binary, error) {
	if cfg.Procs == nil || cfg.Binary == nil && cfg.Cache == nil {
		return process.Process{}, nil, errors.New("opening a process: Procs is required, and Cache unless Binary is given")
	}
	pid := cfg.PID
	var p process.Process
	if cfg.Process != nil {
		p = *cfg.Process
	} else {
		var err error
		if p, err = cfg.Procs.Get(pid); err != nil {
			switch {
			case errors.Is(err, process.ErrNoProcess):
				return p, nil, &explained{fmt.Sprintf("no process with pid %d", pid), err}
			case errors.Is(err, process.ErrPermission):
				return p, nil, cfg.Procs.Refused(pid, process.ReadAccess, fmt.Sprintf("reading /proc/%d", pid), err)
			}
			return p, nil, err
		}
	}
	if cfg.Binary != nil {
		return p, cfg.Binary, nil
	}
	b, err := cfg.Cache.ForPID(pid, cfg.Procs.Root())
	if err != nil {
		return p, b, inspectError(cfg.Procs, p, err)
	}
	return p, b, nil
}

// Open opens process cfg.PID for reading (see the package comment). The
// caller closes the Target.
func Open(cfg Config) (_ *Target, err error) {
	p, b, err := Inspect(cfg)
	if err != nil {
		return nil, err
	}
	t := &Target{PID: cfg.PID, Process: p, Binary: b, procs: cfg.Procs}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if t.Maps, err = cfg.Procs.ExeMappings(t.PID); err != nil {
		return nil, t.Err("reading the mappings", err)
	}
	if t.Bias, err = loadBias(b, t.Maps); err != nil {
		return nil, t.Err("computing the load bias", err)
	}
	if t.Mem, err = procmem.OpenWith(t.PID, procmem.Options{ProcRoot: cfg.Procs.Root()}); err != nil {
		return nil, t.Err("opening the memory", err)
	}
	if err = t.checkMemory(); err != nil {
		return nil, t.Err("reading the memory", err)
	}
	if t.Runtime, err = t.NewRuntime(t.Mem); err != nil {
		return nil, err
	}
	return t, nil
}

// NewRuntime returns a runtime decoder of the target reading through mem
// (a reader over t.Mem, such as a procmem.Budget). A Runtime is not safe
// for concurrent use: a second reader of the same process takes its own.
func (t *Target) NewRuntime(mem procmem.Reader) (*goruntime.Runtime, error) {
	rt, err := goruntime.New(t.Binary, mem, t.Bias)
	if err != nil {
		return nil, fmt.Errorf("reading the runtime of %s: %w", t.name(), err)
	}
	return rt, nil
}

// checkMemory reads one byte of the executable's first mapping, so that a
// process whose memory cannot be read fails at Open, with the reason, and
// not at its first sample.
func (t *Target) checkMemory() error {
	for _, m := range t.Maps {
		if m.Perms != "" && m.Perms[0] == 'r' && m.End > m.Start {
			var b [1]byte
			return procmem.ReadFull(t.Mem, b[:], m.Start)
		}
	}
	return nil
}

// Close closes the memory reader. It is idempotent.
func (t *Target) Close() error {
	if t.Mem == nil {
		return nil
	}
	err := t.Mem.Close()
	t.Mem = nil
	return err
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
	return 0, errors.New("no mapping of its executable at the file offset of its first segment")
}
