package probe

import (
	"testing"

	"github.com/cilium/ebpf"
)

// TestProgEntryRepeated drives the morestack re-execution filter of the
// function-entry probes (bpf/entry.bpf.c) through the bodies of
// setfinalizer, queuefinalizer and cleanup_enqueue: a hit is dropped when
// the same goroutine's previous hit had the same argument registers and the
// goroutine's g.sched.pc lies inside the function.
func TestProgEntryRepeated(t *testing.T) {
	r := loadProgRun(t)
	const (
		entry, size, delta = 0x401000, 0x80, 0x10
		schedPC            = 200 // not Go's 64: the offset must come from the config
		cfgGo126           = 1
		cfgNoSchedPC       = 2
		cfgGo125           = 3
	)
	fn := funcs{{Name: "f", Entry: entry, End: entry + size}}
	bounds := funcCookie(fn, entry, entry+delta)
	if bounds == 0 {
		t.Fatal("funcCookie packed no bounds")
	}
	r.config(cfgGo126, bpftestBinconfig{GoidOff: -1, SchedPcOff: schedPC, GoMinor: 26, CleanupMode: uint32(cleanupMode(26))})
	r.config(cfgNoSchedPC, bpftestBinconfig{GoidOff: -1, SchedPcOff: -1, GoMinor: 26, CleanupMode: uint32(cleanupMode(26))})
	r.config(cfgGo125, bpftestBinconfig{GoidOff: -1, SchedPcOff: schedPC, GoMinor: 25, CleanupMode: uint32(cleanupMode(25))})

	type step struct {
		what     string
		args     [4]uint64
		schedPC  uint64 // g.sched.pc at the hit
		noG      bool   // g register 0
		cfg      uint32
		noBounds bool // the cookie has no function bounds
		repeated bool // want: dropped as a re-execution
	}
	a, b := [4]uint64{0xc000010000, 0x4a0000, 1, 2}, [4]uint64{0xc000020000, 0x4a0000, 1, 2}
	bLast := b
	bLast[3] = 3
	inside, outside := uint64(entry+0x30), uint64(0x7000)
	steps := []step{
		{what: "first call", args: a, schedPC: inside, cfg: cfgGo126},
		{what: "re-execution after morestack", args: a, schedPC: inside, cfg: cfgGo126, repeated: true},
		{what: "next call with the same arguments, sched.pc elsewhere", args: a, schedPC: outside, cfg: cfgGo126},
		{what: "other arguments", args: b, schedPC: inside, cfg: cfgGo126},
		{what: "sched.pc at the function's end", args: b, schedPC: entry + size, cfg: cfgGo126},
		{what: "sched.pc at the function's entry", args: b, schedPC: entry, cfg: cfgGo126, repeated: true},
		{what: "sched.pc offset unknown", args: b, schedPC: inside, cfg: cfgNoSchedPC},
		{what: "no function bounds", args: b, schedPC: inside, cfg: cfgGo126, noBounds: true},
		{what: "g unknown", args: b, schedPC: inside, cfg: cfgGo126, noG: true},
		{what: "argument 4 differs", args: bLast, schedPC: inside, cfg: cfgGo126},
		{what: "no config", args: bLast, schedPC: inside, cfg: 0},
	}
	probes := []struct {
		name  string
		prog  *ebpf.Program
		id    bpftestEntryProbe
		count func(bpftestProcState) uint64
	}{
		{"setfinalizer", r.objs.TestSetfinalizer, bpftestEntryProbeENTRY_SETFINALIZER,
			func(s bpftestProcState) uint64 { return s.FinRegistered }},
		{"queuefinalizer", r.objs.TestQueuefinalizer, bpftestEntryProbeENTRY_QUEUEFINALIZER,
			func(s bpftestProcState) uint64 { return s.FinQueued }},
		{"cleanup_enqueue", r.objs.TestCleanupEnqueue, bpftestEntryProbeENTRY_CLEANUP_ENQUEUE,
			func(s bpftestProcState) uint64 { return s.CleanupQueued }},
	}
	run := func(t *testing.T, prog *ebpf.Program, count func(bpftestProcState) uint64, steps []step) *fakeMem {
		t.Helper()
		g := newFakeMem(64) // a runtime.g of this test: only sched.pc is read
		for _, s := range steps {
			g.set(schedPC, s.schedPC)
			rg := regs{args: s.args, g: g.addr(0), ip: entry + delta}
			if s.noG {
				rg.g = 0
			}
			cookie := bounds
			if s.noBounds {
				cookie = 0
			}
			before := r.state()
			r.hit(prog, rg, cookieWithIndex(cookie, s.cfg))
			after := r.state()
			counted, repeats := count(after)-count(before), after.EntryRepeats-before.EntryRepeats
			if want := map[bool]uint64{true: 0, false: 1}[s.repeated]; counted != want || repeats != 1-want {
				t.Errorf("%s: counted %d, dropped %d as re-executions; want %d, %d", s.what, counted, repeats, want, 1-want)
			}
		}
		return g
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			g := run(t, p.prog, p.count, steps)
			// The last recorded hit: argument 4 differs (the no-config hit is not recorded).
			var last bpftestEntryArgs
			key := bpftestEntryKey{G: g.addr(0), Tgid: r.pid, Probe: uint32(p.id)}
			if err := r.objs.EntryLast.Lookup(&key, &last); err != nil {
				t.Fatalf("entry_last[%+v]: %v", key, err)
			}
			if got := [4]uint64{last.A1, last.A2, last.A3, last.A4}; got != bLast {
				t.Errorf("entry_last holds arguments %#x, want %#x", got, bLast)
			}
		})
	}
	// (*cleanupQueue).enqueue takes two arguments in Go 1.25: registers 3
	// and 4 are not restored after morestack and must not be compared.
	t.Run("cleanup_enqueue go1.25", func(t *testing.T) {
		a2 := a
		a2[2], a2[3] = 7, 8
		run(t, r.objs.TestCleanupEnqueue, func(s bpftestProcState) uint64 { return s.CleanupQueued }, []step{
			{what: "first call", args: a, schedPC: inside, cfg: cfgGo125},
			{what: "re-execution, registers 3 and 4 changed", args: a2, schedPC: inside, cfg: cfgGo125, repeated: true},
		})
	})
}
