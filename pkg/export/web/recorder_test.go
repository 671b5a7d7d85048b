package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

func newTestRecorder(t *testing.T, src Source, interval, window time.Duration) *Recorder {
	t.Helper()
	r, err := NewRecorder(RecorderConfig{Source: src, Interval: interval, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecorderBounds: a process sampled for longer than the window keeps
// at most Window/Interval+1 points, the newest, none older than the window.
func TestRecorderBounds(t *testing.T) {
	r := newTestRecorder(t, &fakeSource{}, 10*time.Second, time.Minute)
	if r.capacity != 7 {
		t.Fatalf("capacity %d, want 7", r.capacity)
	}
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var last time.Time
	for i := range 100 {
		last = t0.Add(time.Duration(i) * 10 * time.Second)
		r.record(snapshot(last, watching(42, "svc", sample(42, last, uint64(i), int64(i)))))
	}
	h := r.History(0, time.Time{})
	if len(h.Processes) != 1 {
		t.Fatalf("%d processes", len(h.Processes))
	}
	p := h.Processes[0]
	if len(p.T) != 7 || len(p.RSSBytes) != 7 || len(p.FDs) != 7 {
		t.Fatalf("%d points, want 7: %+v", len(p.T), p)
	}
	if p.T[6] != last.UnixMilli() || p.RSSBytes[6] != 99<<20 || p.FinalizerQueue[6] != 99 || p.Goroutines[6] != 109 || p.HeapInuseBytes[6] != 99<<19 {
		t.Errorf("newest point: t %d rss %d queue %d goroutines %d heap %d", p.T[6], p.RSSBytes[6], p.FinalizerQueue[6], p.Goroutines[6], p.HeapInuseBytes[6])
	}
	if cutoff := last.Add(-time.Minute).UnixMilli(); p.T[0] < cutoff {
		t.Errorf("oldest point %d is older than the window (%d)", p.T[0], cutoff)
	}
	// A faster sampler cannot exceed the capacity either.
	for i := range 50 {
		at := last.Add(time.Duration(i+1) * time.Second)
		r.record(snapshot(at, watching(42, "svc", sample(42, at, 1, 0))))
	}
	if n := r.procs[42].points.n; n != 7 {
		t.Errorf("%d points after fast sampling, want 7", n)
	}
}

// TestRecorderDedupAndForget: an unchanged sample is recorded once; a
// process that leaves the snapshot is forgotten; a reused PID restarts its
// series; a process no longer sampled keeps its points until they age out.
func TestRecorderDedupAndForget(t *testing.T) {
	r := newTestRecorder(t, &fakeSource{}, 10*time.Second, time.Minute)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := sample(1, t0, 10, 0)
	r.record(snapshot(t0, watching(1, "a", s), watching(2, "b", sample(2, t0, 20, 0))))
	r.record(snapshot(t0.Add(10*time.Second), watching(1, "a", s), watching(2, "b", sample(2, t0.Add(10*time.Second), 20, 0))))
	if n := r.procs[1].points.n; n != 1 {
		t.Errorf("pid 1: %d points for one sample read twice, want 1", n)
	}
	if n := r.procs[2].points.n; n != 2 {
		t.Errorf("pid 2: %d points, want 2", n)
	}
	start := r.procs[1].start

	// pid 2 exits; pid 1 is reused by another executable.
	t1 := t0.Add(20 * time.Second)
	r.record(snapshot(t1, watching(1, "other", sample(1, t1, 5, 0))))
	if _, ok := r.procs[2]; ok {
		t.Error("pid 2 left the snapshot but is still recorded")
	}
	h := r.History(1, time.Time{})
	if len(h.Processes) != 1 || h.Processes[0].Comm != "other" || len(h.Processes[0].T) != 1 || !h.Processes[0].SeriesStart.After(start) {
		t.Errorf("reused pid 1: %+v", h.Processes)
	}

	// pid 1 stops being sampled (attach failed): kept while its points are in the window.
	failed := model.Process{PID: 1, Comm: "other", Exe: "/usr/bin/other", State: model.StateFailed}
	r.record(snapshot(t1.Add(30*time.Second), failed))
	if _, ok := r.procs[1]; !ok {
		t.Error("pid 1 forgotten while its points are recent")
	}
	r.record(snapshot(t1.Add(2*time.Minute), failed))
	if _, ok := r.procs[1]; ok {
		t.Error("pid 1 still recorded with no point in the window")
	}
	// A listed process that was never sampled has no history.
	r.record(snapshot(t1.Add(3*time.Minute), model.Process{PID: 3, Comm: "c", State: model.StateUnsupported}))
	if len(r.procs) != 0 {
		t.Errorf("%d processes recorded, want 0", len(r.procs))
	}
}

// TestHistoryJSON: unknown values are null; since= returns only newer points.
func TestHistoryJSON(t *testing.T) {
	r := newTestRecorder(t, &fakeSource{}, 10*time.Second, time.Hour)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r.record(snapshot(t0, watching(7, "svc", sample(7, t0, 3, 2))))
	t1 := t0.Add(10 * time.Second)
	bare := &model.Sample{Time: t1, PID: 7, RSSBytes: 5 << 20, FDs: model.FDs{Open: -1}}
	r.record(snapshot(t1, watching(7, "svc", bare)))

	b, err := json.Marshal(r.History(0, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"interval_seconds":10`, `"window_seconds":3600`, `"pid":7`, `"comm":"svc"`,
		`"t":[` + itoa(t0.UnixMilli()) + `,` + itoa(t1.UnixMilli()) + `]`,
		`"rss_bytes":[3145728,5242880]`, `"heap_inuse_bytes":[1572864,null]`,
		`"finalizer_queue":[2,null]`, `"goroutines":[12,null]`, `"fds":[7,null]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %s in %s", want, b)
		}
	}
	var back History
	if err := json.Unmarshal(b, &back); err != nil || back.Processes[0].HeapInuseBytes[1] != unknown {
		t.Errorf("round trip: %v %+v", err, back)
	}
	if h := r.History(0, t0); len(h.Processes) != 1 || len(h.Processes[0].T) != 1 || h.Processes[0].T[0] != t1.UnixMilli() {
		t.Errorf("since t0: %+v", h.Processes)
	}
	if h := r.History(8, time.Time{}); len(h.Processes) != 0 {
		t.Errorf("pid 8: %+v", h.Processes)
	}
}

// TestRecorderRun: Run records at once, then every Interval, and returns
// when its context is done.
func TestRecorderRun(t *testing.T) {
	src := &fakeSource{}
	now := time.Now()
	src.set(snapshot(now, watching(5, "svc", sample(5, now, 1, 0))))
	r := newTestRecorder(t, src, 20*time.Millisecond, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for h := r.History(5, time.Time{}); len(h.Processes) == 0 || len(h.Processes[0].T) == 0; h = r.History(5, time.Time{}) {
		if time.Now().After(deadline) {
			t.Fatal("nothing recorded within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	later := now.Add(100 * time.Millisecond)
	src.set(snapshot(later, watching(5, "svc", sample(5, later, 2, 0))))
	for h := r.History(5, time.Time{}); len(h.Processes[0].T) < 2; h = r.History(5, time.Time{}) {
		if time.Now().After(deadline) {
			t.Fatal("the second sample was not recorded within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestNewRecorderErrors(t *testing.T) {
	if _, err := NewRecorder(RecorderConfig{}); err == nil || !strings.Contains(err.Error(), "Source is required") {
		t.Errorf("no source: %v", err)
	}
	if _, err := NewRecorder(RecorderConfig{Source: &fakeSource{}, Interval: time.Minute, Window: time.Second}); err == nil {
		t.Error("window shorter than the interval accepted")
	}
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "NewRecorder") {
		t.Errorf("no recorder: %v", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestHistoryLatest: each process carries its live sample; a process
// sampled but not recorded yet is listed with empty columns; a reused PID
// is listed once, as the new process.
func TestHistoryLatest(t *testing.T) {
	src := &fakeSource{}
	r := newTestRecorder(t, src, 10*time.Second, time.Hour)
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	r.record(snapshot(t0, watching(1, "a", sample(1, t0, 1, 0)), watching(2, "b", sample(2, t0, 2, 0))))
	t1 := t0.Add(3 * time.Second)
	src.set(snapshot(t1, watching(1, "a", sample(1, t1, 4, 9)), watching(2, "new", sample(2, t1, 5, 0)), watching(3, "c", sample(3, t1, 6, 0))))

	h := r.History(0, time.Time{})
	if len(h.Processes) != 3 || !h.Time.Equal(t1) {
		t.Fatalf("%+v", h)
	}
	a, b, c := h.Processes[0], h.Processes[1], h.Processes[2]
	if len(a.T) != 1 || a.Latest == nil || a.Latest.T != t1.UnixMilli() || a.Latest.RSSBytes != 4<<20 || a.Latest.FinalizerQueue != 9 {
		t.Errorf("pid 1: %+v latest %+v", a, a.Latest)
	}
	if b.Comm != "new" || len(b.T) != 0 || b.Latest == nil || b.Latest.RSSBytes != 5<<20 {
		t.Errorf("reused pid 2: %+v latest %+v", b, b.Latest)
	}
	if c.PID != 3 || len(c.T) != 0 || c.T == nil || c.Latest == nil {
		t.Errorf("unrecorded pid 3: %+v", c)
	}
	if h := r.History(3, time.Time{}); len(h.Processes) != 1 || h.Processes[0].PID != 3 {
		t.Errorf("pid=3: %+v", h.Processes)
	}
}
