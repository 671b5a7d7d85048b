package leak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/procmem"
)

// proc is a running test program: its stdout lines, and its stdin.
type proc struct {
	cmd   *exec.Cmd
	pid   int
	in    io.WriteCloser
	mu    sync.Mutex
	cond  *sync.Cond
	lines []string
	done  bool
}

// startProc starts exe with args and env (added to the environment) and
// kills it when the test ends.
func startProc(t testing.TB, exe string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, in: in}
	p.cond = sync.NewCond(&p.mu)
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		cmd.Wait()
		p.mu.Lock()
		p.done = true
		p.cond.Broadcast()
		p.mu.Unlock()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	return p
}

// waitLine waits for a line starting with prefix at or after line from and
// returns it and its index.
func (p *proc) waitLine(prefix string, from int, timeout time.Duration) (string, int, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for i := from; i < len(p.lines); i++ {
			if strings.HasPrefix(p.lines[i], prefix) {
				return p.lines[i], i, nil
			}
		}
		if p.done {
			return "", 0, fmt.Errorf("exited before printing %q; output:\n%s", prefix, strings.Join(p.lines, "\n"))
		}
		if time.Now().After(deadline) {
			return "", 0, fmt.Errorf("no %q within %v; output:\n%s", prefix, timeout, strings.Join(p.lines, "\n"))
		}
		p.cond.Wait()
	}
}

// linesBetween returns the lines after index from up to (excluding) the
// first line equal to end.
func (p *proc) linesBetween(from int, end string, timeout time.Duration) ([]string, error) {
	_, i, err := p.waitLine(end, from, timeout)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines[from+1:i]...), nil
}

// openMarker inspects the process's executable and prepares a Marker.
func openMarker(t testing.TB, pid int, exe string, cfg Config) *Marker {
	t.Helper()
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	mem, err := procmem.Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	bias := loadBias(t, pid, b)
	rt, err := goruntime.New(b, mem, bias)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MEMSIGHT_LEAK_DEBUG") != "" && cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := New(b, rt, mem, bias, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loadBias: start of the executable's mapping at file offset 0 minus (first
// PT_LOAD vaddr - its offset); 0 for a non-PIE.
func loadBias(t testing.TB, pid int, b *goexe.Binary) uint64 {
	t.Helper()
	if !b.PIE {
		return 0
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatal(err)
	}
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

// scanned is a Scan's report and every leaked goroutine's ID, by group.
type scanned struct {
	*model.LeakReport
	goids [][]uint64
}

// scan runs a Scan with a deadline.
func scan(t testing.TB, m *Marker) scanned {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, goids, err := m.scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return scanned{rep, goids}
}

// leakedGoids returns the goroutine IDs a report names.
func leakedGoids(rep scanned) map[uint64]model.Leak {
	out := map[uint64]model.Leak{}
	for i, l := range rep.Leaks {
		for _, id := range rep.goids[i] {
			out[id] = l
		}
	}
	return out
}

// procState returns the state letter of /proc/PID/stat ('R', 'S', 'T', ...).
func procState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
