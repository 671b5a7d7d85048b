package agent

import (
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/profiles"
)

func bundle(pid int, kind string, at time.Time, size int) *model.Evidence {
	return &model.Evidence{ID: model.EvidenceID(pid, kind, at), PID: pid, Kind: kind, Since: at,
		Fired: &model.EvidenceSnapshot{Time: at, Profiles: map[string][]byte{"heap": make([]byte, size)}}}
}

// TestEvidenceStoreBounds: bundles survive their resolution; beyond the
// per-process bound the process's oldest goes, beyond the byte bound the
// oldest of all.
func TestEvidenceStoreBounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := newEvidenceStore(100<<10, 2)
	a1 := bundle(1, "rss_growth", t0, 10<<10)
	st.fired(a1)
	if !st.resolved(a1.ID, &model.EvidenceSnapshot{Time: t0.Add(time.Second)}) {
		t.Fatal("resolution of a kept bundle not recorded")
	}
	st.fired(bundle(1, "finalizer_stall", t0.Add(2*time.Second), 10<<10))
	if _, ok := st.byID[a1.ID]; !ok || a1.Resolved == nil {
		t.Fatal("a resolved bundle was dropped before any bound was reached")
	}
	st.fired(bundle(1, "heap_growth", t0.Add(3*time.Second), 10<<10)) // third of pid 1: its oldest goes
	if _, ok := st.byID[a1.ID]; ok || len(st.order) != 2 {
		t.Errorf("per-process bound: %d bundles, the oldest kept %v", len(st.order), ok)
	}
	b := bundle(2, "rss_growth", t0.Add(4*time.Second), 70<<10) // over 100 KiB: the oldest of all goes
	st.fired(b)
	if len(st.order) != 2 || st.order[0].Kind != "heap_growth" || st.order[1] != b {
		var kinds []string
		for _, e := range st.order {
			kinds = append(kinds, e.Kind)
		}
		t.Errorf("byte bound: kept %v (%d bytes)", kinds, st.bytes)
	}
	if st.bytes > st.max {
		t.Errorf("%d bytes kept, bound %d", st.bytes, st.max)
	}
	huge := bundle(3, "rss_growth", t0.Add(5*time.Second), 200<<10) // alone over the bound: kept alone
	st.fired(huge)
	if len(st.order) != 1 || st.order[0] != huge {
		t.Errorf("a bundle over the bound: %d kept", len(st.order))
	}
	if st.resolved("nope", &model.EvidenceSnapshot{}) {
		t.Error("resolution of an unknown bundle recorded")
	}
}

// TestHeapRingBounds: a process keeps heapRingLength counts; the byte
// bound drops the oldest counts of all processes; a reused PID starts
// afresh; baseline picks the newest counts at or before a time.
func TestHeapRingBounds(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := func(i int) profiles.Counts { return profiles.Counts{Time: t0.Add(time.Duration(i) * time.Minute)} }
	size := int64(c(0).Size())
	r := newHeapRing(8 * size)
	for i := range 7 {
		r.add(1, t0, c(i))
	}
	if n := len(r.byPID[1].counts); n != heapRingLength {
		t.Errorf("%d counts kept, want %d", n, heapRingLength)
	}
	if b, ok := r.baseline(1, t0, t0.Add(4*time.Minute+30*time.Second)); !ok || !b.Time.Equal(c(4).Time) {
		t.Errorf("baseline %v %v, want the counts of minute 4", b.Time, ok)
	}
	if b, ok := r.baseline(1, t0, t0); !ok || !b.Time.Equal(c(2).Time) {
		t.Errorf("baseline before every count: %v, want the oldest (minute 2)", b.Time)
	}
	for i := 10; i < 14; i++ {
		r.add(2, t0, c(i))
	}
	if r.bytes > r.max || len(r.byPID[1].counts) != 4 {
		t.Errorf("%d bytes (bound %d), pid 1 keeps %d", r.bytes, r.max, len(r.byPID[1].counts))
	}
	if _, ok := r.baseline(1, t0.Add(time.Hour), t0); ok {
		t.Error("a reused PID sees the old process's counts")
	}
	r.forget(map[int]time.Time{2: t0})
	if _, ok := r.byPID[1]; ok || r.bytes != 4*size {
		t.Errorf("forget kept pid 1 (%d bytes)", r.bytes)
	}
}

// TestRecentCapture: a finding that fires again on the same process within
// captureEvery gets no second profile read; another kind, the resolution,
// or a new process with the same PID do.
func TestRecentCapture(t *testing.T) {
	pf := newProfiler(ProfileConfig{})
	t0 := time.Now()
	job := func(kind string, since time.Time, resolved bool, start time.Time) evidenceJob {
		j := evidenceJob{pid: 5, start: start, resolved: resolved}
		j.finding.Kind, j.finding.Since = kind, since
		return j
	}
	if prev := pf.recentCapture(job("rss_growth", t0, false, t0), time.Minute); prev != "" {
		t.Fatalf("first capture: previous %q", prev)
	}
	if prev := pf.recentCapture(job("rss_growth", t0.Add(time.Second), false, t0), time.Minute); prev != model.EvidenceID(5, "rss_growth", t0) {
		t.Errorf("re-fired within a minute: previous %q", prev)
	}
	for _, j := range []evidenceJob{job("heap_growth", t0, false, t0), job("rss_growth", t0, true, t0), job("rss_growth", t0, false, t0.Add(time.Hour))} {
		if prev := pf.recentCapture(j, time.Minute); prev != "" {
			t.Errorf("%+v: previous %q, want a capture", j, prev)
		}
	}
}
