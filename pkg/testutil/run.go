package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Target is a running test target.
type Target struct {
	Cmd *exec.Cmd
	Pid int

	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	done  bool
	exit  chan struct{}
	err   error
}

// StartTarget starts the executable with args and kills it when the test ends.
// Its stdout lines are collected; use WaitLine to synchronise with it.
func StartTarget(tb testing.TB, exe string, args ...string) *Target {
	tb.Helper()
	return StartCommand(tb, exec.Command(exe, args...))
}

// StartCommand is StartTarget for a command the caller prepared (its
// environment, a stdin pipe); its stderr goes to the test's unless set.
func StartCommand(tb testing.TB, cmd *exec.Cmd) *Target {
	tb.Helper()
	exe := cmd.Path
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", exe, err)
	}
	t := &Target{Cmd: cmd, Pid: cmd.Process.Pid, exit: make(chan struct{})}
	t.cond = sync.NewCond(&t.mu)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			t.mu.Lock()
			t.lines = append(t.lines, sc.Text())
			t.cond.Broadcast()
			t.mu.Unlock()
		}
		err := cmd.Wait()
		t.mu.Lock()
		t.done, t.err = true, err
		t.cond.Broadcast()
		t.mu.Unlock()
		close(t.exit)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-t.exit
	})
	return t
}

// WaitLine waits until the target prints a line starting with prefix and
// returns it (without the prefix). It fails the test after timeout or when the
// target exits first.
func (t *Target) WaitLine(tb testing.TB, prefix string, timeout time.Duration) string {
	tb.Helper()
	l, ok := t.waitLine(prefix, 0, timeout)
	if !ok {
		tb.Fatalf("target pid %d: no line %q within %v; output:\n%s", t.Pid, prefix, timeout, strings.Join(t.Lines(), "\n"))
	}
	return l
}

// WaitNextLine is like WaitLine but ignores lines already seen before the call.
func (t *Target) WaitNextLine(tb testing.TB, prefix string, timeout time.Duration) string {
	tb.Helper()
	t.mu.Lock()
	from := len(t.lines)
	t.mu.Unlock()
	l, ok := t.waitLine(prefix, from, timeout)
	if !ok {
		tb.Fatalf("target pid %d: no new line %q within %v", t.Pid, prefix, timeout)
	}
	return l
}

func (t *Target) waitLine(prefix string, from int, timeout time.Duration) (string, bool) {
	l, _, ok := t.Find(prefix, from, timeout)
	return strings.TrimPrefix(l, prefix), ok
}

// Find waits up to timeout for a line starting with prefix at or after
// line index from, and returns it whole with its index; ok is false when
// the target exited or the time ran out first.
func (t *Target) Find(prefix string, from int, timeout time.Duration) (line string, index int, ok bool) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		for i := from; i < len(t.lines); i++ {
			if strings.HasPrefix(t.lines[i], prefix) {
				return t.lines[i], i, true
			}
		}
		if t.done || time.Now().After(deadline) {
			return "", 0, false
		}
		t.cond.Wait()
	}
}

// Lines returns every stdout line so far.
func (t *Target) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// Signal sends sig to the target.
func (t *Target) Signal(sig syscall.Signal) error { return t.Cmd.Process.Signal(sig) }

// Wait waits up to timeout for the target to exit and returns its exit error.
func (t *Target) Wait(timeout time.Duration) (exited bool, err error) {
	select {
	case <-t.exit:
		return true, t.err
	case <-time.After(timeout):
		return false, nil
	}
}
