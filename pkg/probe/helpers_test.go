package probe

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// newProbes loads the BPF object for one test; it fails (never skips) when
// BPF cannot be loaded, unless MEMSIGHT_SKIP_BPF=1.
func newProbes(t *testing.T) *Probes { return newProbesWith(t, Config{Stats: true}) }

func newProbesWith(t *testing.T, cfg Config) *Probes {
	t.Helper()
	testutil.RequireBPF(t)
	start := time.Now()
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("loading probes: %v", err)
	}
	t.Logf("New: %v (%s)", time.Since(start), p.AttachMode())
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("closing probes: %v", err)
		}
	})
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(b, "\n")))
	return len(b), nil
}

// collector gathers every event while the test runs.
type collector struct {
	p   *Probes
	mu  sync.Mutex
	evs []Event
}

func collect(t *testing.T, p *Probes) *collector {
	t.Helper()
	c := &collector{p: p}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(e Event) {
			c.mu.Lock()
			c.evs = append(c.evs, e)
			c.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reading events: %v", err)
		}
	})
	return c
}

// of returns the events of pid of one kind.
func (c *collector) of(pid int, kind EventKind) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for _, e := range c.evs {
		if e.PID == pid && e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// wait waits until pid has at least n events of kind.
func (c *collector) wait(t *testing.T, pid int, kind EventKind, n int, timeout time.Duration) []Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		evs := c.of(pid, kind)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			drops, _ := c.p.Drops()
			t.Fatalf("pid %d: %d %s events after %v, want %d (%d dropped)", pid, len(evs), kind, timeout, n, drops)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// gt is the runtime's own view (runtime/metrics, Go 1.26+) of this process.
type gt struct {
	queued, executed, cqueued, cexecuted, numgc uint64
}

func readGT(t *testing.T) gt {
	t.Helper()
	s := []metrics.Sample{
		{Name: "/gc/finalizers/queued:finalizers"},
		{Name: "/gc/finalizers/executed:finalizers"},
		{Name: "/gc/cleanups/queued:cleanups"},
		{Name: "/gc/cleanups/executed:cleanups"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	var v [5]uint64
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			t.Fatalf("runtime/metrics %s not available in %s", s[i].Name, runtime.Version())
		}
		v[i] = s[i].Value.Uint64()
	}
	return gt{v[0], v[1], v[2], v[3], v[4]}
}

// currentGoid parses the goroutine ID from the first line of a stack dump.
func currentGoid() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := bytes.Fields(b[:n])
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}
