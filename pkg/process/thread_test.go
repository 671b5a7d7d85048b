package process

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestThreadState(t *testing.T) {
	r := newReader(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// The thread reading its own stat is running.
	if st, err := r.ThreadState(os.Getpid(), unix.Gettid()); err != nil || st != "R" {
		t.Errorf("ThreadState(self) = %q, %v; want R", st, err)
	}
	dead := deadPID(t)
	if _, err := r.ThreadState(dead, dead); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ThreadState(dead) = %v, want ErrNoProcess", err)
	}
	if _, err := r.ThreadState(os.Getpid(), dead); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ThreadState(self, dead tid) = %v, want ErrNoProcess", err)
	}

	f := fixtureReader(t)
	for tid, want := range map[int]string{4242: "R", 4245: "D"} {
		if st, err := f.ThreadState(4242, tid); err != nil || st != want {
			t.Errorf("fixture ThreadState(4242, %d) = %q, %v; want %q", tid, st, err, want)
		}
	}
	if _, err := f.ThreadState(4242, 4246); !errors.Is(err, ErrNoProcess) {
		t.Errorf("fixture ThreadState(4242, 4246) = %v, want ErrNoProcess", err)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	for _, pid := range []int{deadPID(t), 0, -1} {
		if Alive(pid) {
			t.Errorf("Alive(%d) = true", pid)
		}
	}
}
