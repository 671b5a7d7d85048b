package observe

import (
	"errors"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
)

// oneOff is a process opened for one read of its runtime from memory
// (GoroutineCensus, ScanLeaks): no probes, nothing written to the target.
type oneOff struct {
	proc process.Process
	bin  *goexe.Binary
	bias uint64
	mem  *procmem.Process
	rt   *goruntime.Runtime
}

// openOneOff inspects pid's executable and opens its memory and runtime;
// close mem when done. On failure it returns what it found (proc, bin) with
// an error that names what to do.
func openOneOff(pid int, procRoot string, procs *process.Reader, cache *goexe.Cache) (*oneOff, error) {
	if procRoot == "" {
		procRoot = "/proc"
	}
	o := &oneOff{}
	s := &Session{cfg: AttachConfig{PID: pid, ProcRoot: procRoot, Procs: procs, Cache: cache}}
	var err error
	if s.proc, err = procs.Get(pid); err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return o, fmt.Errorf("no process with pid %d", pid)
		}
		return o, err
	}
	o.proc = s.proc
	if s.bin, err = cache.ForPID(pid, procRoot); err != nil {
		return o, inspectError(pid, s.proc.Comm, err)
	}
	o.bin = s.bin
	if o.bias, err = s.loadBias(); err != nil {
		return o, err
	}
	if o.mem, err = procmem.OpenWith(pid, procmem.Options{ProcRoot: procRoot}); err != nil {
		return o, memError(pid, s.proc.Comm, err)
	}
	if o.rt, err = goruntime.New(s.bin, o.mem, o.bias); err != nil {
		o.mem.Close()
		return o, fmt.Errorf("reading the runtime of pid %d (%s, %s): %w", pid, s.proc.Comm, s.bin.GoVersion, err)
	}
	return o, nil
}
