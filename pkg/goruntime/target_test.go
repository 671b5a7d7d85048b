package goruntime

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// target is a running test target whose stdout lines and stderr are kept
// (testutil.StartTarget sends stderr to the test's; the SIGQUIT dump is
// needed here).
type target struct {
	cmd    *exec.Cmd
	pid    int
	mu     sync.Mutex
	cond   *sync.Cond
	lines  []string
	stderr bytes.Buffer
	done   bool
	exited chan struct{}
}

func startTarget(t *testing.T, exe string, args ...string) *target {
	t.Helper()
	cmd := exec.Command(exe, args...)
	tg := &target{cmd: cmd, exited: make(chan struct{})}
	tg.cond = sync.NewCond(&tg.mu)
	cmd.Stderr = &lockedWriter{mu: &tg.mu, w: &tg.stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg.pid = cmd.Process.Pid
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			tg.mu.Lock()
			tg.lines = append(tg.lines, sc.Text())
			tg.cond.Broadcast()
			tg.mu.Unlock()
		}
		cmd.Wait()
		tg.mu.Lock()
		tg.done = true
		tg.cond.Broadcast()
		tg.mu.Unlock()
		close(tg.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-tg.exited
	})
	return tg
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitLine waits for a line with prefix at index >= from and returns the
// rest of the line and its index.
func (tg *target) waitLine(t *testing.T, prefix string, from int, timeout time.Duration) (string, int) {
	t.Helper()
	timer := time.AfterFunc(timeout, func() { tg.mu.Lock(); tg.cond.Broadcast(); tg.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for {
		for i := from; i < len(tg.lines); i++ {
			if strings.HasPrefix(tg.lines[i], prefix) {
				return strings.TrimPrefix(tg.lines[i], prefix), i
			}
		}
		if tg.done || time.Now().After(deadline) {
			t.Fatalf("pid %d: no line %q after line %d within %v:\n%s\nstderr:\n%s", tg.pid, prefix, from, timeout,
				strings.Join(tg.lines, "\n"), tg.stderr.String())
		}
		tg.cond.Wait()
	}
}

func (tg *target) nlines() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.lines)
}

// quit sends SIGQUIT and returns the runtime's goroutine dump.
func (tg *target) quit(t *testing.T) string {
	t.Helper()
	if err := tg.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tg.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("target did not exit after SIGQUIT")
	}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.stderr.String()
}

// gt is one "GT queued=Q executed=E cqueued=CQ cexecuted=CE" line.
type gt struct{ queued, executed, cqueued, cexecuted uint64 }

func parseGT(t *testing.T, s string) gt {
	t.Helper()
	var g gt
	if _, err := fmt.Sscanf(s, "queued=%d executed=%d cqueued=%d cexecuted=%d", &g.queued, &g.executed, &g.cqueued, &g.cexecuted); err != nil {
		t.Fatalf("GT line %q: %v", s, err)
	}
	return g
}

// attach opens the target's binary, memory and runtime as memsight would.
func attach(t *testing.T, tg *target) *Runtime {
	t.Helper()
	b, err := goexe.Open(fmt.Sprintf("/proc/%d/exe", tg.pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return runtimeOf(t, tg.pid, b)
}

// runtimeOf reads process pid, whose executable is b, through its memory
// at the load bias of its mappings (what pkg/target does; this package's
// tests cannot import it).
func runtimeOf(t *testing.T, pid int, b *goexe.Binary) *Runtime {
	t.Helper()
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	maps, err := procs.ExeMappings(pid)
	if err != nil {
		t.Fatal(err)
	}
	bias, ok := process.LoadBias(maps, b.Segments[0].Vaddr, b.Segments[0].Off)
	if !ok {
		t.Fatalf("pid %d: its executable is not mapped at offset 0", pid)
	}
	mem, err := procmem.Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	r, err := New(b, mem, bias)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startStuck starts finstuck in mode (chan, mutex, busy, cleanup: how its
// finalizer or cleanup gets stuck after 150 objects) and reads it; blocked
// is the index of its BLOCKED line.
func startStuck(t *testing.T, v testutil.Variant, mode string) (tg *target, r *Runtime, blocked int) {
	t.Helper()
	tg = startTarget(t, build(t, v), "-mode="+mode, "-after=150", "-interval=100ms")
	tg.waitLine(t, "READY ", 0, 15*time.Second)
	r = attach(t, tg)
	_, blocked = tg.waitLine(t, "BLOCKED", 0, 15*time.Second)
	return tg, r, blocked
}

// build builds finstuck for a variant.
func build(t *testing.T, v testutil.Variant) string {
	t.Helper()
	return testutil.BuildTarget(t, "finstuck", v)
}
