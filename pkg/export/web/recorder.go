package web

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Defaults of RecorderConfig.
const (
	DefaultInterval = 10 * time.Second
	DefaultWindow   = time.Hour
)

// Source is what the recorder reads (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	Source Source
	// Interval is the time between two reads of the snapshot; 0 means
	// DefaultInterval. A sample the agent has not renewed since the last
	// read is recorded once.
	Interval time.Duration
	// Window is how long points are kept; 0 means DefaultWindow.
	Window time.Duration
	Logger *slog.Logger // nil discards
}

// Recorder keeps the recent history of every watched process: RSS, Go heap
// in use, finalizer queue length, goroutines and open fds.
//
// Memory is bounded: one ring of Window/Interval + 1 points (48 bytes each,
// 17 KiB with the defaults) per process that has a sample in the latest
// snapshot — at most the agent's MaxProcesses (256 by default, so about
// 4.4 MiB) — plus the processes still listed but no longer sampled, until
// their points are older than Window. A process that leaves the snapshot
// (it exited) is forgotten at the next read, and so is a PID whose
// executable or comm changed (the PID was reused).
type Recorder struct {
	src      Source
	interval time.Duration
	window   time.Duration
	capacity int
	log      *slog.Logger

	mu    sync.Mutex
	procs map[int]*series
}

// series is the history of one process.
type series struct {
	comm, exe string
	start     time.Time // when recording began: a new start is a new series
	points    *ring
}

// NewRecorder returns a Recorder; call Run to start recording.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("web: RecorderConfig.Source is required")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Interval < 0 || cfg.Window < cfg.Interval {
		return nil, fmt.Errorf("web: the history window (%v) must be at least one positive interval (%v)", cfg.Window, cfg.Interval)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{
		src: cfg.Source, interval: cfg.Interval, window: cfg.Window,
		capacity: int(cfg.Window/cfg.Interval) + 1,
		log:      cfg.Logger.With("component", "web"),
		procs:    map[int]*series{},
	}, nil
}

// Run records a point per watched process now and every Interval until
// ctx is done.
func (r *Recorder) Run(ctx context.Context) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		r.record(r.src.Snapshot())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// record adds the latest sample of every process of snap and forgets the
// processes and points that are gone or too old.
func (r *Recorder) record(snap model.Snapshot) {
	cutoff := snap.Time.Add(-r.window).UnixMilli()
	listed := make(map[int]bool, len(snap.Processes))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range snap.Processes {
		listed[p.PID] = true
		s := r.procs[p.PID]
		if s != nil && (s.exe != p.Exe || s.comm != p.Comm) {
			r.log.Debug("pid reused: history restarts", "pid", p.PID, "comm", p.Comm)
			s = nil
		}
		if p.Sample != nil {
			if s == nil {
				s = &series{comm: p.Comm, exe: p.Exe, start: snap.Time, points: newRing(r.capacity)}
			}
			pt := pointOf(p.Sample)
			if last, ok := s.points.last(); !ok || pt.t > last.t {
				s.points.push(pt)
			}
		}
		if s != nil {
			s.points.dropBefore(cutoff)
		}
		if s == nil || s.points.n == 0 {
			delete(r.procs, p.PID)
			continue
		}
		r.procs[p.PID] = s
	}
	for pid := range r.procs {
		if !listed[pid] {
			delete(r.procs, pid)
		}
	}
}

// pointOf takes a point's values from a sample.
func pointOf(s *model.Sample) point {
	p := point{
		t: s.Time.UnixMilli(), rss: int64(s.RSSBytes),
		heapInuse: unknown, finqLen: unknown, goroutines: unknown, fds: unknown,
	}
	if s.Heap != nil {
		p.heapInuse = int64(s.Heap.InuseBytes)
	}
	if q := s.Finalizers.QueueLength; q != nil {
		p.finqLen = *q
	}
	if s.Goroutines != nil {
		p.goroutines = int64(s.Goroutines.Total)
	}
	if s.FDs.Open >= 0 {
		p.fds = int64(s.FDs.Open)
	}
	return p
}
