package observe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/goruntime/leak"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/target"
)

// LeakScan configures the goroutine-leak verdict of a Session (see
// pkg/goruntime/leak). It is off unless Every is set: a scan reads the
// live heap, so it runs on a slow cadence, in the background, and a
// sample carries the last finished scan.
type LeakScan struct {
	// Every is the time between the starts of two scans (0: off).
	Every time.Duration
	// ReadRate bounds the bytes a scan reads per second (0:
	// leak.DefaultReadRate); MaxMemory the scan's own memory (0:
	// leak.DefaultMaxMemory).
	ReadRate  int64
	MaxMemory int64
	// Slots, when set, bounds the scans running at once across the
	// Sessions sharing it (the agent scans a node's processes one after
	// another, so one scan's memory is what it needs).
	Slots *LeakSlots
}

// LeakSlots bounds concurrent leak scans.
type LeakSlots struct{ c chan struct{} }

// NewLeakSlots lets n scans run at once.
func NewLeakSlots(n int) *LeakSlots { return &LeakSlots{c: make(chan struct{}, max(n, 1))} }

// leakState runs a Session's scans in the background: one at a time, on
// their own runtime reader, results picked up by the next sample.
type leakState struct {
	cfg     LeakScan
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running bool
	started time.Time
	last    *model.GoroutineLeaks
	lastErr error
	marker  *leak.Marker // created on the first scan
	off     error        // the verdict is impossible for this binary
}

func newLeakState(cfg LeakScan) *leakState {
	ctx, cancel := context.WithCancel(context.Background())
	return &leakState{cfg: cfg, ctx: ctx, cancel: cancel}
}

// close cancels a running scan and waits for it.
func (st *leakState) close() {
	st.cancel()
	st.wg.Wait()
}

// leaks starts a scan when one is due and puts the last result on the
// sample (Unknown["goroutine_leaks"] says why there is none).
func (s *Session) leaks(out *model.Sample, now time.Time) {
	st := s.leak
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.off != nil {
		out.Unknown["goroutine_leaks"] = st.off.Error()
		return
	}
	if !st.running && (st.started.IsZero() || now.Sub(st.started) >= st.cfg.Every) {
		st.running, st.started = true, now
		st.wg.Go(func() { s.scanLeaks(st) })
	}
	switch {
	case st.last != nil:
		l := *st.last
		out.GoroutineLeaks = &l
	case st.lastErr != nil:
		out.Unknown["goroutine_leaks"] = st.lastErr.Error()
	default:
		out.Unknown["goroutine_leaks"] = "first scan running"
	}
}

// scanLeaks runs one scan (in its own goroutine), when a slot is free.
func (s *Session) scanLeaks(st *leakState) {
	if sl := st.cfg.Slots; sl != nil {
		select {
		case sl.c <- struct{}{}:
			defer func() { <-sl.c }()
		case <-st.ctx.Done():
			st.mu.Lock()
			st.running = false
			st.mu.Unlock()
			return
		}
	}
	rep, err := s.runLeakScan(st)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.running = false
	switch {
	case errors.Is(err, leak.ErrUnsupported):
		st.off = err
	case errors.Is(err, leak.ErrTooLarge):
		st.lastErr = fmt.Errorf("%w (raise --leak-max-memory)", err)
	case err != nil:
		st.lastErr = err
	default:
		st.last, st.lastErr = leaksOf(rep, time.Now()), nil
	}
}

func (s *Session) runLeakScan(st *leakState) (*model.LeakReport, error) {
	if st.marker == nil {
		// Its own runtime reader: the samples' one is not safe for
		// concurrent use.
		rt, err := goruntime.New(s.bin, s.mem, s.bias)
		if err != nil {
			return nil, err
		}
		st.marker, err = leak.New(s.bin, rt, s.mem, s.bias, leak.Config{
			ReadRate: st.cfg.ReadRate, MaxMemory: st.cfg.MaxMemory, Logger: s.log,
		})
		if err != nil {
			return nil, err
		}
	}
	return st.marker.Scan(st.ctx)
}

// leaksOf summarizes a report for a sample.
func leaksOf(rep *model.LeakReport, now time.Time) *model.GoroutineLeaks {
	g := &model.GoroutineLeaks{Time: now, Leaks: rep.Leaks, Mark: rep.Mark}
	for _, l := range rep.Leaks {
		g.Leaked += l.Count
		g.BytesPinnedEstimate += l.BytesPinnedEstimate
	}
	return g
}

// LeakScanConfig configures a one-off goroutine-leak scan of a process.
type LeakScanConfig struct {
	PID int
	// Procs reads /proc; its procfs root is the one every read uses.
	Procs *process.Reader
	Cache *goexe.Cache
	Leak  leak.Config
}

// LeakScanResult is a verdict with the process and binary it was taken of.
type LeakScanResult struct {
	Process process.Process
	Binary  *goexe.Binary
	Report  *model.LeakReport
}

// ScanLeaks runs the goroutine-leak verdict on a process once, from its
// memory only (two marks; see leak.Marker.Scan). Errors name what to do.
func ScanLeaks(ctx context.Context, cfg LeakScanConfig) (LeakScanResult, error) {
	t, err := target.Open(target.Config{PID: cfg.PID, Procs: cfg.Procs, Cache: cfg.Cache})
	if err != nil {
		return LeakScanResult{}, err
	}
	defer t.Close()
	res := LeakScanResult{Process: t.Process, Binary: t.Binary}
	m, err := leak.New(t.Binary, t.Runtime, t.Mem, t.Bias, cfg.Leak)
	if err != nil {
		return res, fmt.Errorf("goroutine leak verdict of pid %d (%s, %s): %w", cfg.PID, t.Process.Comm, t.Binary.GoVersion, err)
	}
	if res.Report, err = m.Scan(ctx); err != nil {
		if errors.Is(err, leak.ErrTooLarge) {
			return res, fmt.Errorf("goroutine leak verdict of pid %d (%s): %w: raise --max-memory", cfg.PID, t.Process.Comm, err)
		}
		return res, t.Err("goroutine leak verdict", err)
	}
	return res, nil
}
