package goexe

import "fmt"

// fing: under finlock the runner's first 8-byte store is `fing = gp`; the
// write-barrier path next to it references the same address (a load of the
// old value since 1.22, the slot address before).
func (d *globalDecoder) fing(runner string) (uint64, error) {
	insts, err := d.body(runner)
	if err != nil {
		return 0, err
	}
	rest, ok := d.afterCall(insts, "runtime.lock2")
	if !ok {
		return 0, fmt.Errorf("%s: no call to lock2", runner)
	}
	for i, c := range rest {
		if d.callsTo(c, "runtime.unlock2") {
			rest = rest[:i] // the critical section
			break
		}
	}
	for i, in := range rest {
		if !isStore(in, 8) {
			continue
		}
		for j, o := range rest {
			if j != i && o.MemRef == in.MemRef && (o.Load || o.LoadAddr) {
				return in.MemRef, nil
			}
		}
		return 0, fmt.Errorf("%s: first 8-byte store at %#x has no write-barrier reference to %#x under finlock", runner, in.Addr, in.MemRef)
	}
	return 0, fmt.Errorf("%s: no 8-byte store to a global", runner)
}

// fingStatus: createfing starts with fingStatus.Load() (a 4-byte load on
// amd64, the address for LDARW on arm64); the runner's
// fingStatus.Or(fingRunningFinalizer) is the last global reference before it
// calls reflectcall (LEA + LOCK OR on amd64, LSE or LL/SC loop on arm64).
// Both must agree.
func (d *globalDecoder) fingStatus(runner string) (uint64, error) {
	insts, err := d.body("runtime.createfing")
	if err != nil {
		return 0, err
	}
	var a uint64
	for _, in := range insts {
		if in.MemRef != 0 {
			if isLoad(in, 4) || in.LoadAddr {
				a = in.MemRef
			}
			break
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("runtime.createfing: does not start with a load of fingStatus")
	}
	rinsts, err := d.body(runner)
	if err != nil {
		return 0, err
	}
	var last Inst
	for _, in := range rinsts {
		if d.callsTo(in, "runtime.reflectcall") {
			if last.MemRef != a {
				return 0, fmt.Errorf("%s: reference before reflectcall (%s) is not fingStatus %#x from createfing", runner, last.Text, a)
			}
			return a, nil
		}
		if in.MemRef != 0 {
			last = in
		}
	}
	return 0, fmt.Errorf("%s: no call to reflectcall", runner)
}

// finq: the runner does `fb := finq; finq = nil` (an 8-byte load, then a
// store of zero to the same address); queuefinalizer's first 8-byte load after
// lock(&finlock) is finq too.
func (d *globalDecoder) finq(runner string) (uint64, error) {
	insts, err := d.body(runner)
	if err != nil {
		return 0, err
	}
	var a uint64
outer:
	for i, in := range insts {
		if !isLoad(in, 8) {
			continue
		}
		// The store follows within two instructions (arm64: its ADRP), no call between.
		for _, st := range insts[i+1 : min(i+4, len(insts))] {
			if st.Call {
				break
			}
			if isStore(st, 8) && st.MemRef == in.MemRef && storesZero(st) {
				a = in.MemRef
				break outer
			}
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("%s: no `fb := finq; finq = nil` pattern", runner)
	}
	qinsts, err := d.body("runtime.queuefinalizer")
	if err != nil {
		return 0, err
	}
	rest, ok := d.afterCall(qinsts, "runtime.lock2")
	if !ok {
		return 0, fmt.Errorf("runtime.queuefinalizer: no call to lock2")
	}
	for _, r := range globalReads(rest) {
		if r.size == 8 {
			if r.addr != a {
				return 0, fmt.Errorf("runtime.queuefinalizer: first load after lock2 is %#x, %s said finq is %#x", r.addr, runner, a)
			}
			return a, nil
		}
	}
	return 0, fmt.Errorf("runtime.queuefinalizer: no 8-byte load after lock2")
}

// finCounters: finReadQueueStats is lock(&finlock); read finqueued, then
// finexecuted; unlock. queuefinalizer writes finqueued, the runner writes
// finexecuted.
func (d *globalDecoder) finCounters(runner string) (uint64, uint64, error) {
	const fn = "runtime.finReadQueueStats"
	insts, err := d.body(fn)
	if err != nil {
		return 0, 0, err
	}
	rest, ok := d.afterCall(insts, "runtime.lock2")
	if !ok {
		return 0, 0, fmt.Errorf("%s: no call to lock2", fn)
	}
	var loads []uint64
	for _, r := range globalReads(untilCall(rest)) {
		if r.size == 8 {
			loads = append(loads, r.addr)
		}
	}
	if len(loads) != 2 || loads[0] == loads[1] {
		return 0, 0, fmt.Errorf("%s: %d 8-byte loads between lock and unlock, want 2", fn, len(loads))
	}
	if err := d.writesTo("runtime.queuefinalizer", loads[0]); err != nil {
		return 0, 0, err
	}
	if err := d.writesTo(runner, loads[1]); err != nil {
		return 0, 0, err
	}
	return loads[0], loads[1], nil
}

// writesTo checks that function fn writes 8 bytes at a.
func (d *globalDecoder) writesTo(fn string, a uint64) error {
	insts, err := d.body(fn)
	if err != nil {
		return err
	}
	for _, in := range insts {
		if writes(in, 8) && in.MemRef == a {
			return nil
		}
	}
	return fmt.Errorf("%s: no 8-byte write to %#x", fn, a)
}
