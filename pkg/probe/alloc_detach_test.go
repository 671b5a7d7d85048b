package probe

import (
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/memsight/memsight/pkg/testutil"
)

// allocLinks counts the BPF links in the system that run p's alloc_probe.
func allocLinks(t *testing.T, p *Probes) int {
	t.Helper()
	info, err := p.objs.AllocProbe.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, ok := info.ID()
	if !ok {
		t.Fatal("alloc_probe has no program ID")
	}
	n := 0
	var it link.Iterator
	defer it.Close()
	for it.Next() {
		li, err := it.Link.Info()
		if err == nil && li.Program == id {
			n++
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAllocNotAttachedByDefault: Attach (the default probes) attaches no
// allocation probe: no link runs alloc_probe and the program never runs
// while the target allocates. AttachAlloc adds one link per probe, Detach
// removes one, Close the rest, and the process's sites are forgotten.
func TestAllocNotAttachedByDefault(t *testing.T) {
	p := newProbes(t) // statistics on: the program's run count is exact
	if p.AttachMode() != "uprobe_multi" {
		t.Fatalf("attach mode %s: this test counts BPF links", p.AttachMode())
	}
	exe, b := allochot(t, testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Default})
	tg := testutil.StartTarget(t, exe, "-rate", "2000")
	tg.WaitLine(t, "START", 10*time.Second)
	a, err := p.Attach(targetFor(t, b, exe, tg.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	st, err := p.AllocProgramStats()
	if err != nil {
		t.Fatal(err)
	}
	if n := allocLinks(t, p); n != 0 || st.Runs != 0 {
		t.Fatalf("default attach: %d alloc_probe links, %d runs", n, st.Runs)
	}

	slow := b.AllocPoints().Slow
	aa := attachAlloc(t, p, b, tg.Pid, slow)
	if n := allocLinks(t, p); n != len(slow) {
		t.Errorf("%d alloc_probe links for %d probes", n, len(slow))
	}
	tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	if err := aa.Detach("runtime.(*mheap).alloc"); err != nil {
		t.Fatal(err)
	}
	if err := aa.Detach("runtime.(*mheap).alloc"); err == nil {
		t.Error("detaching twice succeeded")
	}
	if n := allocLinks(t, p); n != len(slow)-1 {
		t.Errorf("%d alloc_probe links after detaching one of %d", n, len(slow))
	}
	h0, _ := aa.Hits()
	tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	h1, _ := aa.Hits()
	if h1["runtime.(*mheap).alloc"] != h0["runtime.(*mheap).alloc"] || h1["runtime.(*mcache).refill"] == h0["runtime.(*mcache).refill"] {
		t.Errorf("hits after detaching mheap.alloc: %v, then %v", h0, h1)
	}
	pts := aa.Points()
	if len(pts) != 3 || !pts[1].Detached || pts[0].Detached || !pts[0].Emulated {
		t.Errorf("points %+v", pts)
	}
	if sites, err := aa.Sites(); err != nil || len(sites) == 0 {
		t.Fatalf("sites: %d, %v", len(sites), err)
	}
	if err := aa.Close(); err != nil {
		t.Fatal(err)
	}
	if n := allocLinks(t, p); n != 0 {
		t.Errorf("%d alloc_probe links after Close", n)
	}
	if sites, err := aa.Sites(); err != nil || len(sites) != 0 {
		t.Errorf("%d sites of the process after Close (%v)", len(sites), err)
	}
}
