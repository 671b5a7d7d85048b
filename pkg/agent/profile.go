package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/profiles"
)

// Defaults of ProfileConfig.
const (
	DefaultProfileConcurrency = 2
	DefaultEvidenceBytes      = 8 << 20
	DefaultEvidencePerProcess = 8
	DefaultHeapRingBytes      = 2 << 20
	heapRingLength            = 5
)

// ProfileConfig bounds the profiles the agent reads: on request (the
// API's pprof endpoints, the Pyroscope push), as evidence of findings, and
// the heap ring that lets growth evidence show what grew. Zero values take
// the defaults.
type ProfileConfig struct {
	// ReadBudget bounds the bytes one profile reads from a target (default
	// profiles.DefaultMaxBytes, 64 MiB).
	ReadBudget int64
	// Concurrency is how many profiles are read at once (default 2); a
	// request beyond fails with model.ErrProfileBusy, an internal read waits.
	Concurrency int
	// HeapRing is how often each watched process's heap profile counts are
	// kept (about 40 bytes per allocation site) for the growth evidence:
	// 0 takes a quarter of the growth window (detect.Config.GrowthWindow),
	// negative turns the ring off. Five are kept per process.
	HeapRing time.Duration
	// HeapRingBytes bounds the ring of all processes together (default
	// 2 MiB; the oldest counts go first).
	HeapRingBytes int64
	// EvidenceBytes bounds the evidence kept, all processes together
	// (default 8 MiB; the oldest bundle goes first); EvidencePerProcess
	// the bundles kept per process (default 8).
	EvidenceBytes      int64
	EvidencePerProcess int
}

func (c ProfileConfig) withDefaults() ProfileConfig {
	if c.ReadBudget <= 0 {
		c.ReadBudget = profiles.DefaultMaxBytes
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultProfileConcurrency
	}
	if c.HeapRingBytes <= 0 {
		c.HeapRingBytes = DefaultHeapRingBytes
	}
	if c.EvidenceBytes <= 0 {
		c.EvidenceBytes = DefaultEvidenceBytes
	}
	if c.EvidencePerProcess <= 0 {
		c.EvidencePerProcess = DefaultEvidencePerProcess
	}
	return c
}

// Profile reads a profile of a watched process now: nothing is cached.
// With wait false it fails with model.ErrProfileBusy when Concurrency profiles
// are being read; with wait it waits for a slot (or ctx). The read uses a
// memory reader of its own (never the process's sampling session), bounded
// by ReadBudget. Errors wrap model.ErrNotWatched, ErrNoProfile,
// ErrProfileBusy, ErrReadBudget or say what failed.
func (a *Agent) Profile(ctx context.Context, pid int, kind string, wait bool) (*model.Profile, error) {
	switch kind {
	case model.ProfileHeap, model.ProfileGoroutine:
	case model.ProfileAlloc:
		return nil, fmt.Errorf("pid %d: the agent runs no allocation probes (only memsight attach --alloc-probes does): %w", pid, model.ErrNoProfile)
	default:
		return nil, fmt.Errorf("profile %q: %w (heap, goroutine)", kind, model.ErrNoProfile)
	}
	out, err := a.readProfile(ctx, pid, kind, wait)
	a.pf.count(kind, err)
	return out, err
}

func (a *Agent) readProfile(ctx context.Context, pid int, kind string, wait bool) (*model.Profile, error) {
	t, p, err := a.profileTarget(pid)
	if err != nil {
		return nil, err
	}
	if err := a.profileSlot(ctx, wait); err != nil {
		return nil, err
	}
	defer func() { <-a.pf.sem }()
	start := time.Now()
	out := &model.Profile{Process: p, Kind: kind, Time: start}
	o := profiles.Options{MaxBytes: a.pf.cfg.ReadBudget}
	if kind == model.ProfileHeap {
		h, err := profiles.Heap(t, o)
		if err != nil {
			return nil, profileErr(pid, kind, err)
		}
		out.Profile, out.ReadBytes = h.Profile, h.ReadBytes
	} else {
		g, err := profiles.Goroutine(t, o)
		if err != nil {
			return nil, profileErr(pid, kind, err)
		}
		out.Profile, out.ReadBytes = g.Profile, g.ReadBytes
	}
	out.Duration = time.Since(start)
	a.log.Debug("profile read", "pid", pid, "kind", kind, "bytes_read", out.ReadBytes, "duration", out.Duration)
	return out, nil
}

// profileSlot takes one of the Concurrency slots.
func (a *Agent) profileSlot(ctx context.Context, wait bool) error {
	if !wait {
		select {
		case a.pf.sem <- struct{}{}:
			return nil
		default:
			return fmt.Errorf("%d profiles are being read: %w", cap(a.pf.sem), model.ErrProfileBusy)
		}
	}
	select {
	case a.pf.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// profileTarget returns what reading a profile of pid needs, and the
// process as a Snapshot lists it.
func (a *Agent) profileTarget(pid int) (profiles.Target, model.Process, error) {
	a.mu.Lock()
	e := a.procs[pid]
	if e == nil || e.state != stWatching || e.bin == nil {
		a.mu.Unlock()
		return profiles.Target{}, model.Process{}, fmt.Errorf("pid %d: %w", pid, model.ErrNotWatched)
	}
	p, bin := e.info, e.bin
	p.State, p.Since = model.StateWatching, e.since
	a.mu.Unlock()
	ps := []model.Process{p}
	a.enrichAll(ps)
	p = ps[0]
	return profiles.Target{PID: pid, Procs: a.cfg.Procs, Binary: bin, Comments: ProfileComments(p)}, p, nil
}

// ProfileComments are the comments of a process's profiles: pid, comm,
// pod, namespace, container and go_version (`go tool pprof -comments`).
func ProfileComments(p model.Process) []string {
	c := []string{fmt.Sprintf("pid=%d", p.PID), "comm=" + p.Comm, "go_version=" + p.GoVersion}
	for _, kv := range [][2]string{{"pod", p.Pod}, {"namespace", p.Namespace}, {"container", p.Container}, {"owner", p.Owner}, {"container_id", p.ContainerID}} {
		if kv[1] != "" {
			c = append(c, kv[0]+"="+kv[1])
		}
	}
	return c
}

// profileErr words a failed profile read, wrapping the sentinels.
func profileErr(pid int, kind string, err error) error {
	if err == nil {
		return nil
	}
	var nr *heapprof.NotRecordedError
	switch {
	case errors.As(err, &nr):
		return fmt.Errorf("pid %d records no heap profile (%s): %w", pid, nr.Reason, model.ErrNoProfile)
	case errors.Is(err, procmem.ErrBudget):
		return fmt.Errorf("pid %d: the %s profile needs more of its memory than the read budget: %w (%w)", pid, kind, model.ErrReadBudget, err)
	case errors.Is(err, procmem.ErrNoProcess):
		return fmt.Errorf("pid %d exited: %w", pid, model.ErrNotWatched)
	}
	return fmt.Errorf("reading the %s profile of pid %d: %w", kind, pid, err)
}

// profiler is the agent's profile state: the read slots, the heap ring and
// the evidence store.
type profiler struct {
	cfg  ProfileConfig
	sem  chan struct{}
	ring *heapRing
	ev   *evidenceStore
	jobs chan evidenceJob // findings fired or resolved, for the evidence loop
	// track notices findings firing and resolving; dropped counts the
	// evidence not captured (queue full).
	track   findingTracker
	dropped atomic.Uint64
	// reads counts Profile calls by kind and result; captured is when each
	// finding's profiles were last read as evidence (recentCapture).
	mu       sync.Mutex
	reads    map[[2]string]uint64
	captured map[captureKey]lastCapture
}

// Results of profile reads, in ProfileStats.
const (
	ResultOK       = "ok"
	ResultBusy     = "busy"
	ResultNone     = "no_profile"
	ResultBudget   = "over_budget"
	ResultNotFound = "not_watched"
	ResultError    = "error"
)

func (pf *profiler) count(kind string, err error) {
	r := ResultOK
	switch {
	case err == nil:
	case errors.Is(err, model.ErrProfileBusy):
		r = ResultBusy
	case errors.Is(err, model.ErrNoProfile):
		r = ResultNone
	case errors.Is(err, model.ErrReadBudget):
		r = ResultBudget
	case errors.Is(err, model.ErrNotWatched):
		r = ResultNotFound
	default:
		r = ResultError
	}
	pf.mu.Lock()
	pf.reads[[2]string{kind, r}]++
	pf.mu.Unlock()
}

// ProfileStats counts the profiles read on request (API, push) since
// start, by kind and result (ResultOK, ...).
func (a *Agent) ProfileStats() map[[2]string]uint64 {
	a.pf.mu.Lock()
	defer a.pf.mu.Unlock()
	return maps.Clone(a.pf.reads)
}

func newProfiler(c ProfileConfig) *profiler {
	c = c.withDefaults()
	return &profiler{
		cfg: c, sem: make(chan struct{}, c.Concurrency),
		ring: newHeapRing(c.HeapRingBytes), ev: newEvidenceStore(c.EvidenceBytes, c.EvidencePerProcess),
		jobs: make(chan evidenceJob, evidenceQueue), track: findingTracker{byPID: map[int]*pidFindings{}},
		reads: map[[2]string]uint64{}, captured: map[captureKey]lastCapture{},
	}
}
