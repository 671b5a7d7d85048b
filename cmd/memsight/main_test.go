package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// memsightBin is the memsight binary the tests run, as a user would.
var memsightBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "memsight-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// World-readable, so tests can run it as an unprivileged user.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	memsightBin = filepath.Join(dir, "memsight")
	out, err := exec.Command("go", "build", "-o", memsightBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building memsight: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// attachRun is a running `memsight attach -o json`.
type attachRun struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	samples []model.Sample
	stderr  strings.Builder
	done    chan struct{}
	err     error
	started time.Time
}

func startAttach(t *testing.T, pid int, args ...string) *attachRun {
	t.Helper()
	a := &attachRun{done: make(chan struct{}), started: time.Now()}
	a.cmd = exec.Command(memsightBin, append([]string{"attach", fmt.Sprint(pid), "-o", "json"}, args...)...)
	a.cmd.Stderr = &syncWriter{mu: &a.mu, b: &a.stderr}
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 4<<20), 4<<20)
		for sc.Scan() {
			var s model.Sample
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				a.mu.Lock()
				a.stderr.WriteString("bad JSON line: " + sc.Text() + "\n")
				a.mu.Unlock()
				continue
			}
			a.mu.Lock()
			a.samples = append(a.samples, s)
			a.mu.Unlock()
		}
		a.err = a.cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
	})
	return a
}

// wait waits for memsight to exit and fails the test if it did not exit 0.
func (a *attachRun) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(timeout):
		t.Fatalf("memsight attach did not exit within %v; stderr:\n%s", timeout, a.stderrText())
	}
	if a.err != nil {
		t.Fatalf("memsight attach: %v; stderr:\n%s", a.err, a.stderrText())
	}
}

// attached waits until memsight says it attached.
func (a *attachRun) attached(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(a.stderrText(), "attached to pid") {
			return
		}
		select {
		case <-a.done:
			t.Fatalf("memsight attach exited: %v; stderr:\n%s", a.err, a.stderrText())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("memsight did not attach; stderr:\n%s", a.stderrText())
}

func (a *attachRun) stderrText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

func (a *attachRun) all() []model.Sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]model.Sample(nil), a.samples...)
}

// waitSample waits for a sample satisfying ok.
func (a *attachRun) waitSample(t *testing.T, timeout time.Duration, what string, ok func(model.Sample) bool) model.Sample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	seen := 0
	for {
		ss := a.all()
		for ; seen < len(ss); seen++ {
			if ok(ss[seen]) {
				return ss[seen]
			}
		}
		if time.Now().After(deadline) {
			last := "none"
			if len(ss) > 0 {
				b, _ := json.Marshal(ss[len(ss)-1])
				last = string(b)
			}
			t.Fatalf("no sample with %s within %v; last sample: %s; stderr:\n%s", what, timeout, last, a.stderrText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// gtCounts parses a target's "queued=Q executed=E ..." ground-truth line.
type gtCounts struct{ queued, executed, cqueued, cexecuted, numgc int64 }

func parseGT(t *testing.T, s string) gtCounts {
	t.Helper()
	var g gtCounts
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "queued=%d executed=%d cqueued=%d cexecuted=%d numgc=%d",
		&g.queued, &g.executed, &g.cqueued, &g.cexecuted, &g.numgc); err != nil {
		t.Fatalf("parsing ground truth %q: %v", s, err)
	}
	return g
}

func findingKinds(s model.Sample) []string {
	var k []string
	for _, f := range s.Findings {
		k = append(k, f.Kind)
	}
	return k
}

func hasFinding(s model.Sample, kind string) *model.Finding {
	for i := range s.Findings {
		if s.Findings[i].Kind == kind {
			return &s.Findings[i]
		}
	}
	return nil
}
