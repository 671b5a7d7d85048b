package probe

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// events reads the test object's ring buffer.
type events struct {
	t  *testing.T
	rd *ringbuf.Reader
}

func (r *progRun) events() *events {
	r.t.Helper()
	rd, err := ringbuf.NewReader(r.objs.Events)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = rd.Close() })
	return &events{t: r.t, rd: rd}
}

// next decodes the next record with Run's decoder; the probes submit
// without waking the reader, so it reads what is there.
func (e *events) next() Event {
	e.t.Helper()
	e.rd.SetDeadline(time.Now())
	rec, err := e.rd.Read()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		e.t.Fatal("no event")
	} else if err != nil {
		e.t.Fatal(err)
	}
	ev, err := decodeEvent(rec.RawSample)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// TestProgEvents drives the finalizer, cleanup and GC probes' bodies
// (bpf/finalizers.bpf.c, bpf/gc.bpf.c): what they read through the
// attachment's config, the counters they keep and the records they send.
func TestProgEvents(t *testing.T) {
	r := loadProgRun(t)
	evs := r.events()
	const (
		goidOff, goid = 152, 42 // not Go's offset: it must come from the config
		fvSpOff       = 16
		finPC, clPC   = 0x4b0000, 0x4c0000
	)
	cfg := func(idx uint32, goidOffset int64, minor int) {
		r.config(idx, bpftestBinconfig{GoidOff: goidOffset, SchedPcOff: -1, FvSpOff: fvSpOff,
			GoMinor: uint32(minor), CleanupMode: uint32(cleanupMode(minor))})
	}
	cfg(1, goidOff, 26)
	cfg(2, -1, 26)
	cfg(3, goidOff, 25)
	cfg(4, goidOff, 24)
	cfg(5, goidOff, 21)

	mem := newFakeMem(128)
	const gOff, spOff, fvOff, boxOff, box2Off = 0, 0x200, 0x280, 0x300, 0x340
	mem.set(gOff+goidOff, goid)
	mem.set(spOff+fvSpOff, mem.addr(fvOff))
	mem.set(fvOff, finPC) // the funcval's code pointer
	g, sp, fv := mem.addr(gOff), mem.addr(spOff), mem.addr(fvOff)

	onOneCPU(t, func(int) {
		tid := unix.Gettid()
		// A finalizer's start and end, then an end without a start.
		r.hit(r.objs.TestFinalizerStart, regs{g: g, sp: sp}, 1)
		if s := r.state(); s.FinStarted != 1 || s.FinCurPc != finPC || s.FinCurGoid != goid || s.FinCurStartNs == 0 {
			t.Errorf("after finalizer_start: %+v", s)
		}
		if e := evs.next(); e.Kind != FinalizerStart || e.PC != finPC || e.Goid != goid || e.Funcval != fv ||
			e.NoPC || e.PID != int(r.pid) || e.TID != tid {
			t.Errorf("finalizer start event: %+v", e)
		}
		r.hit(r.objs.TestFinalizerEnd, regs{g: g}, 1)
		if s := r.state(); s.FinFinished != 1 || s.FinCurStartNs != 0 || s.FinCurPc != 0 || s.UnpairedEnds != 0 {
			t.Errorf("after finalizer_end: %+v", s)
		}
		if e := evs.next(); e.Kind != FinalizerEnd || e.PC != finPC || e.Goid != goid || e.NoStart || e.Funcval != 0 {
			t.Errorf("finalizer end event: %+v", e)
		}
		r.hit(r.objs.TestFinalizerEnd, regs{g: g}, 1)
		if e := evs.next(); e.Kind != FinalizerEnd || !e.NoStart || e.PC != 0 || e.Duration != 0 || r.state().UnpairedEnds != 1 {
			t.Errorf("finalizer end without start: %+v", e)
		}

		// Cleanups: where the function is per Go version, paired by goroutine
		// or, with the goid offset unknown, by thread.
		mem.set(boxOff+8, mem.addr(box2Off)) // 1.24/1.25 closure: captures the cleanup at +8
		mem.set(box2Off, clPC)               // 1.24: the cleanup's code pointer
		for _, c := range []struct {
			name  string
			cfg   uint64
			rg    regs
			pc    uint64
			byTID bool
			setup func()
		}{
			{"go1.26", 1, regs{args: [4]uint64{fv}, g: g}, finPC, false, nil},
			{"go1.26 goid unknown", 2, regs{args: [4]uint64{fv}, g: g}, finPC, true, nil},
			{"go1.25", 3, regs{ctxt: mem.addr(boxOff), g: g}, finPC, false, func() { mem.set(box2Off, fv) }},
			{"go1.24", 4, regs{ctxt: mem.addr(boxOff), g: g}, clPC, false, func() { mem.set(box2Off, clPC) }},
		} {
			if c.setup != nil {
				c.setup()
			}
			before := r.state()
			r.hit(r.objs.TestCleanupStart, c.rg, c.cfg)
			if s := r.state(); s.CleanupsRunning != before.CleanupsRunning+1 || s.CleanupStarted != before.CleanupStarted+1 {
				t.Errorf("%s: after cleanup_start: %+v", c.name, s)
			}
			start := evs.next()
			if start.Kind != CleanupStart || start.PC != c.pc || start.ByThread != c.byTID || start.NoPC {
				t.Errorf("%s: cleanup start event: %+v", c.name, start)
			}
			r.hit(r.objs.TestCleanupEnd, regs{g: g}, c.cfg)
			if s := r.state(); s.CleanupsRunning != before.CleanupsRunning || s.CleanupFinished != before.CleanupFinished+1 ||
				s.UnpairedEnds != before.UnpairedEnds {
				t.Errorf("%s: after cleanup_end: %+v", c.name, s)
			}
			if end := evs.next(); end.Kind != CleanupEnd || end.PC != c.pc || end.Goid != start.Goid ||
				end.ByThread != c.byTID || end.NoStart {
				t.Errorf("%s: cleanup end event: %+v (start %+v)", c.name, end, start)
			}
		}

		// Go 1.24 queues cleanups on the finalizer queue, with p == nil.
		before := r.state()
		r.hit(r.objs.TestQueuefinalizer, regs{args: [4]uint64{0, 1}}, 4)
		r.hit(r.objs.TestQueuefinalizer, regs{args: [4]uint64{0xc000010000, 1}}, 4)
		r.hit(r.objs.TestQueuefinalizer, regs{args: [4]uint64{0, 1}}, 1)
		if s := r.state(); s.CleanupQueued != before.CleanupQueued+1 || s.FinQueued != before.FinQueued+2 {
			t.Errorf("queuefinalizer: %d cleanups, %d finalizers queued; want 1, 2",
				s.CleanupQueued-before.CleanupQueued, s.FinQueued-before.FinQueued)
		}

		// GC: a cycle starts once per markStartTime.
		r.hit(r.objs.TestGcStartCycle, regs{args: [4]uint64{0, 1000}}, 1)
		r.hit(r.objs.TestGcStartCycle, regs{args: [4]uint64{0, 1000}}, 1)
		r.hit(r.objs.TestGcStartCycle, regs{args: [4]uint64{0, 2000}}, 1)
		if s := r.state(); s.GcCycles != 2 || s.EntryRepeats != 1 || s.LastGcStart != 2000 {
			t.Errorf("gc_start_cycle: %d cycles, %d repeats, last start %d; want 2, 1, 2000", s.GcCycles, s.EntryRepeats, s.LastGcStart)
		}
		// Go 1.22+: startTheWorldWithSema(now, reason, startedStopping).
		started := Now()
		r.hit(r.objs.TestStwStart, regs{args: [4]uint64{5000, uint64(STWReasonGCMarkTerm), started}}, 1)
		if e := evs.next(); e.Kind != STWEnd || e.Reason != STWReasonGCMarkTerm || !e.GCEnd || e.GoNow != 5000 {
			t.Errorf("stop-the-world end event: %+v", e)
		}
		if s := r.state(); s.GcEnds != 1 || s.StwCount != 1 || s.StwNsTotal != s.StwGcNsTotal || s.LastGcEndNs == 0 {
			t.Errorf("after a GC's mark termination: %+v", s)
		}
		// Before 1.22 the pause pairs with the thread's stopTheWorldWithSema(reason).
		r.hit(r.objs.TestStwStop, regs{args: [4]uint64{uint64(STWReasonGCSweepTerm)}}, 5)
		var stop bpftestStwStop
		if err := r.objs.StwStops.Lookup(uint32(tid), &stop); err != nil || stop.Reason != uint32(STWReasonGCSweepTerm) {
			t.Errorf("stw_stops[%d] after stw_stop: %+v, %v", tid, stop, err)
		}
		r.hit(r.objs.TestStwStart, regs{}, 5)
		if e := evs.next(); e.Kind != STWEnd || e.Reason != STWReasonGCSweepTerm || e.GCEnd || e.GoNow != 0 {
			t.Errorf("go1.21 stop-the-world end event: %+v", e)
		}
		if err := r.objs.StwStops.Lookup(uint32(tid), &stop); !errors.Is(err, ebpf.ErrKeyNotExist) {
			t.Errorf("stw_stops[%d] after stw_start: %+v, %v", tid, stop, err)
		}
		if s := r.state(); s.StwCount != 2 || s.GcEnds != 1 || s.StwNsTotal != s.StwGcNsTotal {
			t.Errorf("after a go1.21 sweep termination: %+v", s)
		}
	})
}
