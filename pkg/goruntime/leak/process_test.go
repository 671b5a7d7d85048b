package leak

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/target"
	"github.com/memsight/memsight/pkg/testutil"
)

// proc is a running test program: its stdout lines, and its stdin.
type proc struct {
	*testutil.Target
	cmd *exec.Cmd
	pid int
	in  io.WriteCloser
}

// startProc starts exe with args and env (added to the environment) and
// kills it when the test ends.
func startProc(t testing.TB, exe string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	tg := testutil.StartCommand(t, cmd)
	return &proc{Target: tg, cmd: cmd, pid: tg.Pid, in: in}
}

// waitLine waits for a line starting with prefix at or after line from and
// returns it and its index.
func (p *proc) waitLine(prefix string, from int, timeout time.Duration) (string, int, error) {
	l, i, ok := p.Find(prefix, from, timeout)
	if !ok {
		return "", 0, fmt.Errorf("no %q within %v or before exiting; output:\n%s", prefix, timeout, strings.Join(p.Lines(), "\n"))
	}
	return l, i, nil
}

// linesBetween returns the lines after index from up to (excluding) the
// first line equal to end.
func (p *proc) linesBetween(from int, end string, timeout time.Duration) ([]string, error) {
	_, i, err := p.waitLine(end, from, timeout)
	if err != nil {
		return nil, err
	}
	return p.Lines()[from+1 : i], nil
}

// openMarker inspects the process's executable, opens the process
// (pkg/target) and prepares a Marker.
func openMarker(t testing.TB, pid int, exe string, cfg Config) *Marker {
	t.Helper()
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := target.Open(target.Config{PID: pid, Procs: procs, Binary: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	if os.Getenv("MEMSIGHT_LEAK_DEBUG") != "" && cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := New(b, tg.Runtime, tg.Mem, tg.Bias, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
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
