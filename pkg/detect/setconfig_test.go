package detect

import (
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// TestSetConfigKeepsHistory: raising then lowering the stall threshold on a
// running detector changes what fires, and the finding's start (its
// history) survives the change.
func TestSetConfigKeepsHistory(t *testing.T) {
	d := New(Config{StallThreshold: 10 * time.Second})
	r := &model.Running{Function: "main.f", Seconds: 3, State: "blocked"}
	if got := kinds(d.Update(sample(0, 10, r))); got != "" {
		t.Fatalf("3 s under a 10 s threshold: %q", got)
	}
	d.SetConfig(Config{StallThreshold: time.Second})
	if got := d.Config().StallThreshold; got != time.Second {
		t.Fatalf("Config().StallThreshold = %v after SetConfig", got)
	}
	if d.Config().BacklogWindow != Defaults().BacklogWindow {
		t.Errorf("zero fields not defaulted: BacklogWindow %v", d.Config().BacklogWindow)
	}
	r2 := *r
	r2.Seconds = 4
	fs := d.Update(sample(1, 10, &r2))
	if kinds(fs) != model.KindFinalizerStall {
		t.Fatalf("4 s over a 1 s threshold: %q", kinds(fs))
	}
	since := fs[0].Since
	d.SetConfig(Config{StallThreshold: 2 * time.Second})
	r3 := *r
	r3.Seconds = 5
	fs = d.Update(sample(2, 10, &r3))
	if kinds(fs) != model.KindFinalizerStall || !fs[0].Since.Equal(since) {
		t.Fatalf("after a second SetConfig: %q since %v, want the finding kept since %v", kinds(fs), fs, since)
	}
	d.SetConfig(Config{StallThreshold: time.Minute})
	r4 := *r
	r4.Seconds = 6
	if got := kinds(d.Update(sample(3, 10, &r4))); got != "" {
		t.Fatalf("6 s under a 1 min threshold: %q", got)
	}
}
