package probe

import (
	"context"
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestAllProcessesWatched attaches once to an executable for all its
// processes and records only the watched one.
func TestAllProcessesWatched(t *testing.T) {
	p := newProbes(t)
	col := collect(t, p)
	exe, b := finslowTarget(t, testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	args := []string{"-n", "30", "-c", "20", "-rounds", "2"}
	ta, tb := testutil.StartTarget(t, exe, args...), testutil.StartTarget(t, exe, args...)
	ta.WaitLine(t, "READY ", 10*time.Second)
	tb.WaitLine(t, "READY ", 10*time.Second)
	tgt := targetFor(t, b, exe, ta.Pid)
	tgt.ExePath, tgt.PID = exe, 0
	a, err := p.Attach(tgt)
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	defer a.Close()
	if err := p.Watch(ta.Pid); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []*testutil.Target{ta, tb} {
		if err := tg.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
	}
	gt0 := counts(t, ta.WaitLine(t, "GT0 ", 10*time.Second))
	gt1 := counts(t, ta.WaitLine(t, "DONE ", 30*time.Second))
	tb.WaitLine(t, "DONE ", 30*time.Second)
	c, ok := p.Counters(ta.Pid)
	if !ok {
		t.Fatal("no counters for the watched process")
	}
	if got, want := c.FinalizersQueued, gt1["queued"]-gt0["queued"]; got != want {
		t.Errorf("watched process: queued BPF %d, runtime %d", got, want)
	}
	if got, want := c.FinalizersFinished, gt1["executed"]-gt0["executed"]; got != want {
		t.Errorf("watched process: finished BPF %d, runtime executed %d", got, want)
	}
	if got, want := c.CleanupsFinished, gt1["cexecuted"]-gt0["cexecuted"]; got != want {
		t.Errorf("watched process: cleanups finished BPF %d, runtime executed %d", got, want)
	}
	t.Logf("watched pid %d: %d queued, %d finished, %d cleanups (runtime: %v)", ta.Pid, c.FinalizersQueued, c.FinalizersFinished, c.CleanupsFinished, gt1)
	if _, ok := p.Counters(tb.Pid); ok {
		t.Error("the unwatched process has counters")
	}
	if evs := col.of(tb.Pid, FinalizerStart); len(evs) != 0 {
		t.Errorf("%d events from the unwatched process", len(evs))
	}

	// Unwatch forgets; watching again starts from zero.
	if err := p.Unwatch(ta.Pid); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Counters(ta.Pid); ok {
		t.Error("counters still present after Unwatch")
	}
	if err := p.Watch(ta.Pid); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []*testutil.Target{ta, tb} {
		if err := tg.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
			t.Fatalf("pid %d did not exit cleanly: exited %v, %v", tg.Pid, exited, err)
		}
	}
	col.wait(t, ta.Pid, ProcessExit, 1, 5*time.Second)
	time.Sleep(2 * p.poll)
	if evs := col.of(tb.Pid, ProcessExit); len(evs) != 0 {
		t.Errorf("exit event for the unwatched process: %+v", evs)
	}
}

// TestStuckFinalizer: a finalizer and a cleanup that never return are
// reported running, with their functions; when the process dies, its state
// goes too.
func TestStuckFinalizer(t *testing.T) {
	p := newProbes(t)
	col := collect(t, p)
	exe, b := finslowTarget(t, testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE})
	tg := testutil.StartTarget(t, exe, "-block", "-blockc", "-n", "20", "-c", "10", "-rounds", "2", "-drain=false")
	tg.WaitLine(t, "READY ", 10*time.Second)
	a, err := p.Attach(targetFor(t, b, exe, tg.Pid))
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	defer a.Close()
	if err := tg.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	bias := loadBias(t, tg.Pid, exe)
	deadline := time.Now().Add(10 * time.Second)
	var c Counters
	for {
		var ok bool
		c, ok = p.Counters(tg.Pid)
		if ok && c.Running != nil && Now()-c.Running.StartNs > uint64(300*time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finalizer reported running for 300ms: %+v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fn, _ := b.FuncAt(c.Running.PC - bias)
	t.Logf("running for %v: %s (goid %d); started %d, finished %d",
		time.Duration(Now()-c.Running.StartNs), fn.Name, c.Running.Goid, c.FinalizersStarted, c.FinalizersFinished)
	if fn.Name != "main.blockingFinalizer" {
		t.Errorf("running finalizer %s (pc %#x), want main.blockingFinalizer", fn.Name, c.Running.PC)
	}
	if c.FinalizersStarted != c.FinalizersFinished+1 {
		t.Errorf("started %d, finished %d: want exactly one in flight", c.FinalizersStarted, c.FinalizersFinished)
	}
	runs, err := p.RunningCleanups(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || c.CleanupsRunning != 1 {
		t.Fatalf("running cleanups %+v, counter %d: want one", runs, c.CleanupsRunning)
	}
	if fn, _ := b.FuncAt(runs[0].PC - bias); fn.Name != "main.blockingCleanup" || runs[0].Goid == 0 {
		t.Errorf("running cleanup %s goid %d (pc %#x), want main.blockingCleanup", fn.Name, runs[0].Goid, runs[0].PC)
	}

	if err := tg.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	tg.Wait(10 * time.Second)
	exit := col.wait(t, tg.Pid, ProcessExit, 1, 5*time.Second)[0]
	if exit.Final == nil || exit.Final.Running == nil {
		t.Errorf("exit event without the running finalizer: %+v", exit.Final)
	}
	if _, ok := p.Counters(tg.Pid); ok {
		t.Error("counters still present after the process died")
	}
	if runs, err := p.RunningCleanups(tg.Pid); err != nil || len(runs) != 0 {
		t.Errorf("running cleanups after the process died: %+v, %v", runs, err)
	}
}

// TestAttachErrors: attach failures are reported, and leave nothing behind.
func TestAttachErrors(t *testing.T) {
	p := newProbes(t)
	tgt := selfTarget(t)

	bad := tgt
	bad.Arch = goexe.ARM64
	if runtime.GOARCH == "arm64" {
		bad.Arch = goexe.AMD64
	}
	if _, err := p.Attach(bad); err == nil {
		t.Error("attach to a binary of another architecture succeeded")
	}
	bad = tgt
	bad.PID = 1 << 22 // above pid_max's default: no such process
	if _, err := p.Attach(bad); err == nil || !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("attach to a missing pid: %v", err)
	} else {
		t.Logf("missing pid: %v", err)
	}
	if _, ok := p.Counters(bad.PID); ok {
		t.Error("a failed attach left the pid watched")
	}
	bad = tgt
	bad.Points.FinalizerCall = nil
	bad.Points.Missing = map[string]string{"finalizer_call": "test says so"}
	a, err := p.Attach(bad)
	if err != nil {
		t.Fatal(err)
	}
	if why := a.Skipped()["finalizer_call"]; why != "test says so" {
		t.Errorf("skipped finalizer_call: %q", why)
	}
	if err := errors.Join(a.Close(), a.Close()); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	if err := errors.Join(p.Close(), p.Close()); err != nil {
		t.Errorf("closing probes twice: %v", err)
	}
	if _, err := p.Attach(tgt); err == nil {
		t.Error("attach after Close succeeded")
	}
}

// TestCloseWhileRunning: Close ends a running Run, which returns nil.
func TestCloseWhileRunning(t *testing.T) {
	p := newProbes(t)
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background(), func(Event) {}) }()
	time.Sleep(50 * time.Millisecond)
	if err := p.Run(context.Background(), func(Event) {}); !errors.Is(err, ErrReaderRunning) {
		t.Errorf("second Run: %v, want ErrReaderRunning", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
