package target

import (
	"errors"
	"fmt"
	"os"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
)

// explained is an error with a message of its own over the error it
// explains (which stays in the chain for errors.Is and errors.As).
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// name is "pid 42 (web)".
func (t *Target) name() string { return describe(t.PID, t.Process.Comm) }

func describe(pid int, comm string) string {
	if comm == "" {
		return fmt.Sprintf("pid %d", pid)
	}
	return fmt.Sprintf("pid %d (%s)", pid, comm)
}

// Err words an error of doing op ("reading the goroutines") on the
// target's /proc files or memory: a process that is gone wraps
// process.ErrNoProcess ("pid 42 (web) exited"), a refused access is a
// *process.AccessError saying what blocks it; anything else is wrapped as
// "op of pid 42 (web): err".
func (t *Target) Err(op string, err error) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("%s of %s", op, t.name())
	switch {
	case errors.Is(err, process.ErrNoProcess) || errors.Is(err, os.ErrNotExist) && !process.Alive(t.PID):
		return &explained{fmt.Sprintf("%s exited", t.name()), err}
	case errors.Is(err, process.ErrPermission), errors.Is(err, os.ErrPermission):
		var ae *process.AccessError
		if errors.As(err, &ae) {
			return err
		}
		// A file of /proc carries the system's error; pkg/procmem's
		// errors about the memory only the sentinel.
		a := process.MemoryAccess
		if errors.Is(err, os.ErrPermission) {
			a = process.ReadAccess
		}
		return t.procs.Refused(t.PID, a, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// inspectError words an error inspecting the executable of p.
func inspectError(procs *process.Reader, p process.Process, err error) error {
	name := describe(p.PID, p.Comm)
	switch {
	case errors.Is(err, goexe.ErrNotGo):
		return &explained{fmt.Sprintf("%s is not a Go process", name), err}
	case errors.Is(err, os.ErrPermission):
		return procs.Refused(p.PID, process.ReadAccess, "opening the executable of "+name, err)
	case errors.Is(err, os.ErrNotExist) && !process.Alive(p.PID):
		return &explained{fmt.Sprintf("no process with pid %d", p.PID), fmt.Errorf("%w: %w", process.ErrNoProcess, err)}
	case errors.Is(err, os.ErrNotExist):
		return &explained{fmt.Sprintf("%s has no executable (a kernel thread or a zombie)", name), err}
	}
	return fmt.Errorf("inspecting %s: %w", name, err)
}
