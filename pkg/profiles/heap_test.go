package profiles

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestHeapTopIsLeaker: the heap profile of heapleak, encoded and decoded
// again, has the target's leaking function on top by in-use space; a read
// budget too small for it fails with procmem.ErrBudget.
func TestHeapTopIsLeaker(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "heapleak", v)
			tg := testutil.StartTarget(t, exe)
			tg.WaitLine(t, "READY", 20*time.Second)
			tt := testTarget(t, exe, tg.Pid)
			h, err := Heap(tt, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := h.Profile.Write(&buf); err != nil {
				t.Fatal(err)
			}
			p, err := profile.Parse(&buf)
			if err != nil {
				t.Fatalf("parsing the written profile: %v", err)
			}
			if top := topFlat(t, p, "inuse_space"); len(top) == 0 || top[0] != "main.leakyCache" {
				t.Errorf("top in-use functions %v, want main.leakyCache first", top[:min(5, len(top))])
			}
			if h.ReadBytes <= 0 || len(p.Comments) == 0 || p.Comments[0] != "pid=test" {
				t.Errorf("read %d bytes, comments %q", h.ReadBytes, p.Comments)
			}
			if _, err := Heap(tt, Options{MaxBytes: h.ReadBytes / 2}); !errors.Is(err, procmem.ErrBudget) {
				t.Errorf("with half the bytes it read: %v, want ErrBudget", err)
			}
		})
	}
}

// TestHeapDiff: two heap profiles of heapleak taken a while apart: the
// difference (what go tool pprof -base shows) has the leaker on top, and
// the earlier profile rebuilt from its counts equals the profile read then.
func TestHeapDiff(t *testing.T) {
	exe := testutil.BuildTarget(t, "heapleak", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	tg := testutil.StartTarget(t, exe, "-memprofilerate", "4096")
	tg.WaitLine(t, "READY", 20*time.Second)
	tt := testTarget(t, exe, tg.Pid)
	early, err := Heap(tt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := early.Counts()
	if c2, n, err := HeapCounts(tt, Options{}); err != nil || n <= 0 || c2.Zero() {
		t.Fatalf("HeapCounts: %v (%d bytes read)", err, n)
	}
	if c.Size() <= 0 || c.Zero() {
		t.Fatalf("counts: size %d, zero %v", c.Size(), c.Zero())
	}
	// The profile moves at each GC; heapleak leaks 1.6 MB/s and churns.
	deadline := time.Now().Add(20 * time.Second)
	var late *HeapProfile
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		if late, err = Heap(tt, Options{}); err != nil {
			t.Fatal(err)
		}
		if late.Snapshot.Cycle >= early.Snapshot.Cycle+3 && late.Snapshot.Time.Sub(early.Snapshot.Time) > 2*time.Second {
			break
		}
	}
	diff := late.Diff(c)
	if err := diff.CheckValid(); err != nil {
		t.Fatalf("diff not valid: %v", err)
	}
	if top := topFlat(t, diff, "inuse_space"); len(top) == 0 || top[0] != "main.leakyCache" {
		t.Errorf("top in-use growth %v, want main.leakyCache first", top[:min(5, len(top))])
	}
	// pprof's own subtraction agrees: late + (-early) merged.
	neg := early.Profile.Copy()
	neg.Scale(-1)
	merged, err := profile.Merge([]*profile.Profile{late.Profile.Copy(), neg})
	if err != nil {
		t.Fatal(err)
	}
	// Each value is scaled and truncated per bucket: ±1 byte per sample.
	if got, want := sum(diff, 3), sum(merged, 3); got-want > int64(len(merged.Sample)) || want-got > int64(len(merged.Sample)) {
		t.Errorf("diff in-use space %d, pprof -base gives %d", got, want)
	}
	at := late.At(c)
	if got, want := sum(at, 3), sum(early.Profile, 3); got != want {
		t.Errorf("rebuilt early profile: in-use space %d, want %d", got, want)
	}
}

func sum(p *profile.Profile, idx int) int64 {
	var n int64
	for _, s := range p.Sample {
		n += s.Value[idx]
	}
	return n
}
