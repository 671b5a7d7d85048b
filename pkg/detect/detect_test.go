package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sample(sec int, q int64, r *model.Running) *model.Sample {
	return &model.Sample{Time: t0.Add(time.Duration(sec) * time.Second), Finalizers: model.Finalizers{QueueLength: &q, Running: r}}
}

func kinds(fs []model.Finding) string {
	var k []string
	for _, f := range fs {
		k = append(k, f.Kind)
	}
	return strings.Join(k, ",")
}

func TestStallFiresAndClears(t *testing.T) {
	d := New(Config{})
	r := &model.Running{Function: "main.(*Conn).Close", Seconds: 1, State: "blocked",
		Stack: []string{"runtime.gopark proc.go:1", "net.(*netFD).Read fd_posix.go:68", "main.(*Conn).Close main.go:35"}}
	if got := kinds(d.Update(sample(0, 500, r))); got != "" {
		t.Fatalf("1 s running: got findings %q", got)
	}
	r2 := *r
	r2.Seconds = 3
	fs := d.Update(sample(2, 700, &r2))
	if kinds(fs) != model.KindFinalizerStall {
		t.Fatalf("3 s running: got %q", kinds(fs))
	}
	if !strings.Contains(fs[0].Summary, "main.(*Conn).Close") || !strings.Contains(fs[0].Summary, "net.(*netFD).Read") {
		t.Errorf("summary %q does not name the function and where it blocks", fs[0].Summary)
	}
	since := fs[0].Since
	r2.Seconds = 4
	fs = d.Update(sample(3, 900, &r2))
	if fs[0].Since != since {
		t.Errorf("since moved from %v to %v", since, fs[0].Since)
	}
	if got := kinds(d.Update(sample(4, 0, nil))); got != "" {
		t.Errorf("after the finalizer finished: got %q", got)
	}
}

func TestBacklogMonotonic(t *testing.T) {
	d := New(Config{BacklogWindow: 10 * time.Second})
	var fs []model.Finding
	for s := 0; s <= 12; s++ {
		// +160/s with a drained block of 101 every 3 s.
		q := int64(160*s - 101*(s/3))
		fs = d.Update(sample(s, q, nil))
		if s < 10 && len(fs) != 0 {
			t.Fatalf("fired after %d s, before the window: %v", s, fs)
		}
	}
	if kinds(fs) != model.KindFinalizerBacklog {
		t.Fatalf("got %q, want a backlog", kinds(fs))
	}
	if g := fs[0].Evidence["growth_per_second"].(float64); g < 100 || g > 160 {
		t.Errorf("growth %v/s, want about 130/s", g)
	}
}

func TestBacklogAccelerating(t *testing.T) {
	d := New(Config{})
	var fs []model.Finding
	for s := 0; s <= 8; s++ {
		fs = d.Update(sample(s, int64(110+5*s*s), nil)) // second difference 10/s²
	}
	if kinds(fs) != model.KindFinalizerBacklog || fs[0].Evidence["accelerating"] != true {
		t.Fatalf("got %v, want an accelerating backlog", fs)
	}
}

func TestNoBacklogForFastFinalizers(t *testing.T) {
	d := New(Config{})
	// A busy but healthy queue: bounces within one block.
	for s := 0; s <= 60; s++ {
		q := int64((s * 37) % 101)
		if fs := d.Update(sample(s, q, nil)); len(fs) != 0 {
			t.Fatalf("healthy queue fired at %d s: %v", s, fs)
		}
	}
}

func TestUnknownQueueNeverFires(t *testing.T) {
	d := New(Config{BacklogWindow: time.Second})
	for s := 0; s < 10; s++ {
		if fs := d.Update(&model.Sample{Time: t0.Add(time.Duration(s) * time.Second)}); len(fs) != 0 {
			t.Fatalf("fired with unknown queue: %v", fs)
		}
	}
}

func TestParkedWithQueuedWork(t *testing.T) {
	d := New(Config{})
	wait := 5.0
	mk := func(sec int, q int64, reason string) *model.Sample {
		s := sample(sec, q, nil)
		s.Finalizers.Goroutine = &model.GoroutineState{Goid: 5, Status: "waiting", WaitReason: reason, WaitSeconds: &wait}
		return s
	}
	if fs := d.Update(mk(0, 300, "finalizer wait")); len(fs) != 0 {
		t.Fatalf("fired on the first sample: %v", fs)
	}
	if fs := d.Update(mk(1, 300, "finalizer wait")); kinds(fs) != model.KindFinalizerStall {
		t.Fatalf("parked with 300 queued: got %q", kinds(fs))
	}
	if fs := d.Update(mk(2, 0, "finalizer wait")); len(fs) != 0 {
		t.Fatalf("empty queue: got %v", fs)
	}
	d.Update(mk(3, 300, "chan receive"))
	if fs := d.Update(mk(4, 300, "chan receive")); len(fs) != 0 {
		t.Fatalf("not in finalizer wait: got %v", fs)
	}
}
