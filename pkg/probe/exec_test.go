package probe

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestExecEvents: every exec is reported with the process's PID, the
// thread that called exec and a timestamp taken between the test's clock
// reads around it: a Go program started by the test, a shell that execs
// twice (two events, one PID), and a Go program exec'ing from a thread that
// is not its main thread (the event's TID is that thread, its PID the
// process).
func TestExecEvents(t *testing.T) {
	p := newProbes(t)
	if !p.ExecEvents() {
		t.Fatal("ExecEvents is false: the sched_process_exec tracepoint was not attached (see the log)")
	}
	col := collect(t, p)
	idle := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})

	t.Run("start", func(t *testing.T) {
		before := Now()
		tg := testutil.StartTarget(t, idle)
		tg.WaitLine(t, "READY ", 10*time.Second)
		after := Now()
		ev := col.wait(t, tg.Pid, ProcessExec, 1, 2*time.Second)
		if len(ev) != 1 {
			t.Fatalf("%d exec events for pid %d, want 1: %+v", len(ev), tg.Pid, ev)
		}
		checkExec(t, ev[0], tg.Pid, tg.Pid, before, after)
	})

	t.Run("twice", func(t *testing.T) {
		before := Now()
		cmd := exec.Command("/bin/sh", "-c", "exec /bin/sh -c 'exec "+idle+"'")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || !strings.HasPrefix(l, "READY ") {
			t.Fatalf("reading the target's READY line: %q, %v", l, err)
		}
		after := Now()
		pid := cmd.Process.Pid
		evs := col.wait(t, pid, ProcessExec, 3, 2*time.Second) // sh, sh, idle
		for i, ev := range evs {
			checkExec(t, ev, pid, pid, before, after)
			if i > 0 && ev.Ns < evs[i-1].Ns {
				t.Errorf("exec events out of order: %+v", evs)
			}
		}
	})

	t.Run("thread", func(t *testing.T) {
		before := Now()
		cmd := exec.Command(os.Args[0], "-test.run=^TestExecHelper$")
		cmd.Env = append(os.Environ(), "MEMSIGHT_EXEC_HELPER=1")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		l, err := bufio.NewReader(out).ReadString('\n')
		tid, perr := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "TID ")))
		if err != nil || perr != nil {
			t.Fatalf("reading the helper's TID line: %q, %v", l, err)
		}
		pid := cmd.Process.Pid
		if tid == pid {
			t.Fatalf("the helper execs from its main thread (tid %d)", tid)
		}
		// Two execs: the test binary, then sleep from thread tid.
		evs := col.wait(t, pid, ProcessExec, 2, 5*time.Second)
		checkExec(t, evs[1], pid, tid, before, Now())
	})
}

func checkExec(t *testing.T, ev Event, pid, tid int, before, after uint64) {
	t.Helper()
	if ev.Kind != ProcessExec || ev.Kind.String() != "process_exec" || ev.PID != pid || ev.TID != tid {
		t.Errorf("exec event %+v: want kind process_exec, pid %d, tid %d", ev, pid, tid)
	}
	if ev.Ns < before || ev.Ns > after {
		t.Errorf("exec event at %d ns, not between %d and %d", ev.Ns, before, after)
	}
	if ev.Final != nil || ev.PC != 0 || ev.Duration != 0 {
		t.Errorf("exec event carries more than an exec: %+v", ev)
	}
}

// TestExecHelper is not a test: run by TestExecEvents with
// MEMSIGHT_EXEC_HELPER=1, it execs /bin/sleep from a thread other than the
// process's main thread, after printing that thread's ID.
func TestExecHelper(t *testing.T) {
	if os.Getenv("MEMSIGHT_EXEC_HELPER") != "1" {
		t.Skip("helper process of TestExecEvents")
	}
	done := make(chan error)
	for range 10 {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread execs or is thrown away
			tid := unix.Gettid()
			if tid == os.Getpid() {
				done <- nil
				return
			}
			fmt.Printf("TID %d\n", tid)
			done <- syscall.Exec("/bin/sleep", []string{"sleep", "30"}, nil)
		}()
		if err := <-done; err != nil {
			t.Fatalf("exec: %v", err)
		}
	}
	t.Fatal("every goroutine ran on the main thread")
}

// TestNoExecEvents: with Config.NoExecEvents, no exec is reported.
func TestNoExecEvents(t *testing.T) {
	p := newProbesWith(t, Config{NoExecEvents: true})
	if p.ExecEvents() {
		t.Fatal("ExecEvents is true with NoExecEvents")
	}
	col := collect(t, p)
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * p.poll)
	if evs := col.of(cmd.Process.Pid, ProcessExec); len(evs) != 0 {
		t.Errorf("exec events with NoExecEvents: %+v", evs)
	}
}
