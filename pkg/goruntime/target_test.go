package goruntime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
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
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", tg.pid))
	if err != nil {
		t.Fatal(err)
	}
	b, err := goexe.Open(fmt.Sprintf("/proc/%d/exe", tg.pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	mem, err := procmem.Open(tg.pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	r, err := New(b, mem, loadBias(t, tg.pid, exe, b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// loadBias: start of the exe mapping at file offset 0 minus (first PT_LOAD
// vaddr - its offset).
func loadBias(t *testing.T, pid int, exe string, b *goexe.Binary) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || f[5] != exe || f[2] != "00000000" {
			continue
		}
		start, _ := strconv.ParseUint(strings.Split(f[0], "-")[0], 16, 64)
		seg := b.Segments[0]
		return start - (seg.Vaddr - seg.Off)
	}
	t.Fatalf("pid %d: %s not mapped at offset 0", pid, exe)
	return 0
}

// build builds finstuck for a variant.
func build(t *testing.T, v testutil.Variant) string {
	t.Helper()
	return testutil.BuildTarget(t, "finstuck", v)
}
