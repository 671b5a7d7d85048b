package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ThreadState returns the state letter of thread tid of process pid from
// /proc/PID/task/TID/stat: "R" running, "S" sleeping, "D" uninterruptible
// sleep, "T" stopped, "t" traced, "Z" zombie, "X" dead, "I" idle kernel
// thread. It returns an error wrapping ErrNoProcess when the thread (or the
// process) does not exist.
func (r *Reader) ThreadState(pid, tid int) (string, error) {
	if pid <= 0 || tid <= 0 {
		return "", fmt.Errorf("thread %d of pid %d: %w", tid, pid, ErrNoProcess)
	}
	t, err := r.fs.Thread(pid, tid)
	if err != nil {
		return "", threadErr(pid, tid, err)
	}
	st, err := t.Stat()
	if err != nil {
		return "", threadErr(pid, tid, err)
	}
	return st.State, nil
}

func threadErr(pid, tid int, err error) error {
	if vanished(err) {
		return fmt.Errorf("thread %d of pid %d: %w", tid, pid, ErrNoProcess)
	}
	return fmt.Errorf("reading stat of thread %d of pid %d: %w", tid, pid, err)
}

// Alive reports whether a process with this PID exists in the caller's PID
// namespace, by sending it signal 0. A zombie counts as alive (use Get to see
// its state); a process owned by another user counts too (EPERM). PIDs ≤ 0
// are never alive (kill(2) would address process groups).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
