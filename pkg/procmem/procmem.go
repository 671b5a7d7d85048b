package procmem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/process"
)

// Reader reads the memory of one process. ReadMemory fills buf from the
// target's address addr and returns how many bytes it read; a short count
// comes with an error.
type Reader interface {
	ReadMemory(buf []byte, addr uint64) (int, error)
}

// Sentinel errors; every error of this package wraps one of them or a
// system error.
var (
	// ErrNoProcess means the process does not exist (any more). It is
	// process.ErrNoProcess: one sentinel for the whole pipeline.
	ErrNoProcess = process.ErrNoProcess
	// ErrPermission means the kernel refused access to the process's
	// memory. It is process.ErrPermission.
	ErrPermission = process.ErrPermission
	// ErrFault means the address range is not (entirely) mapped in the target.
	ErrFault = errors.New("address not mapped in the target process")
)

// permissionHint is appended to permission errors.
const permissionHint = "reading another process's memory needs the same uid without Yama restrictions, or CAP_SYS_PTRACE"

// Options configure Open.
type Options struct {
	// ProcRoot is the procfs mount point; "" means /proc.
	ProcRoot string
	// NoVM disables process_vm_readv and reads /proc/PID/mem only.
	NoVM bool
}

// Process reads the memory of one process. It is safe for concurrent use.
type Process struct {
	pid      int
	procRoot string

	mu     sync.Mutex
	useVM  bool
	mem    *os.File // /proc/PID/mem, opened on first fallback read
	closed bool
}

// Open returns a reader of process pid's memory.
func Open(pid int) (*Process, error) { return OpenWith(pid, Options{}) }

// OpenWith is Open with options.
func OpenWith(pid int, o Options) (*Process, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
	}
	root := o.ProcRoot
	if root == "" {
		root = "/proc"
	}
	p := &Process{pid: pid, procRoot: root, useVM: !o.NoVM}
	if _, err := os.Stat(filepath.Join(root, strconv.Itoa(pid))); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)
		}
		return nil, fmt.Errorf("pid %d: %w", pid, err)
	}
	if !p.useVM {
		if err := p.openMem(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Pid returns the process ID.
func (p *Process) Pid() int { return p.pid }

// Close releases /proc/PID/mem if it was opened. It is idempotent.
func (p *Process) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.mem == nil {
		return nil
	}
	err := p.mem.Close()
	p.mem = nil
	return err
}

// ReadMemory reads len(buf) bytes at addr of the target.
func (p *Process) ReadMemory(buf []byte, addr uint64) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	return p.readv([]Span{{Addr: addr, Buf: buf}})
}

// openMem opens /proc/PID/mem read-only.
func (p *Process) openMem() error {
	path := filepath.Join(p.procRoot, strconv.Itoa(p.pid), "mem")
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return p.wrap(fmt.Sprintf("opening %s", path), err)
	}
	p.mem = f
	return nil
}

// wrap turns a system error into one wrapping this package's sentinels.
func (p *Process) wrap(what string, err error) error {
	switch {
	case errors.Is(err, unix.ESRCH), errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s of pid %d: %w", what, p.pid, ErrNoProcess)
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s of pid %d: %w (%s)", what, p.pid, ErrPermission, permissionHint)
	case errors.Is(err, unix.EFAULT), errors.Is(err, unix.EIO):
		return fmt.Errorf("%s of pid %d: %w", what, p.pid, ErrFault)
	}
	return fmt.Errorf("%s of pid %d: %w", what, p.pid, err)
}

// gone reports whether the process has exited (its /proc entry vanished).
func (p *Process) gone() bool {
	_, err := os.Stat(filepath.Join(p.procRoot, strconv.Itoa(p.pid)))
	return errors.Is(err, os.ErrNotExist)
}
