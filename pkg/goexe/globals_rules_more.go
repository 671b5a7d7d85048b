package goexe

import (
	"fmt"
	"strings"
)

// sliceAfterLock: the first two 8-byte loads after fn's lock2 call read a
// slice global's pointer and length (addresses A and A+8).
func (d *globalDecoder) sliceAfterLock(fn string) (uint64, error) {
	insts, err := d.body(fn)
	if err != nil {
		return 0, err
	}
	rest, ok := d.afterCall(insts, "runtime.lock2")
	if !ok {
		return 0, fmt.Errorf("%s: no call to lock2", fn)
	}
	return sliceLoads(fn, rest)
}

// sliceLoads returns A when the first two 8-byte loads read A and A+8.
func sliceLoads(fn string, insts []Inst) (uint64, error) {
	var loads []uint64
	for _, r := range globalReads(insts) {
		if r.size == 8 {
			loads = append(loads, r.addr)
			if len(loads) == 2 {
				break
			}
		}
	}
	switch {
	case len(loads) < 2:
		return 0, fmt.Errorf("%s: fewer than two 8-byte loads", fn)
	case loads[1] == loads[0]+8:
		return loads[0], nil
	case loads[0] == loads[1]+8:
		return loads[1], nil
	}
	return 0, fmt.Errorf("%s: loads %#x and %#x are not a slice header", fn, loads[0], loads[1])
}

// allglen: forEachGRace is `ptr, n := atomicAllG()` (allglen.Load(), then
// allgptr) and calls fn for each g: exactly two 8-byte loads before the
// first indirect call, allglen first.
func (d *globalDecoder) allglen() (uint64, error) {
	const fn = "runtime.forEachGRace"
	insts, err := d.body(fn)
	if err != nil {
		return 0, err
	}
	var loads []uint64
	for _, r := range globalReads(untilCall(insts)) {
		if r.size == 8 {
			loads = append(loads, r.addr)
		}
	}
	if len(loads) != 2 || loads[0] == loads[1] {
		return 0, fmt.Errorf("%s: %d 8-byte loads before calling fn, want 2 (allglen, allgptr)", fn, len(loads))
	}
	return loads[0], nil
}

// allp: timeSleepUntil reads allp under allpLock; preemptall reads it first
// thing. Both must agree.
func (d *globalDecoder) allp() (uint64, error) {
	a, err := d.sliceAfterLock("runtime.timeSleepUntil")
	if err != nil {
		return 0, err
	}
	insts, err := d.body("runtime.preemptall")
	if err != nil {
		return 0, err
	}
	b, err := sliceLoads("runtime.preemptall", insts)
	if err != nil {
		return 0, err
	}
	if a != b {
		return 0, fmt.Errorf("allp: timeSleepUntil says %#x, preemptall %#x", a, b)
	}
	return a, nil
}

// memProfileRate: allocmcache reads MemProfileRate (nextSample, inlined) as
// its only 8-byte global load; profilealloc reads it too.
func (d *globalDecoder) memProfileRate() (uint64, error) {
	a, err := d.onlyLoad("runtime.allocmcache", 8)
	if err != nil {
		return 0, err
	}
	insts, err := d.body("runtime.profilealloc")
	if err != nil {
		return 0, err
	}
	for _, r := range globalReads(insts) {
		if r.size == 8 && r.addr == a {
			return a, nil
		}
	}
	return 0, fmt.Errorf("runtime.profilealloc: does not read %#x (MemProfileRate per allocmcache)", a)
}

// onlyLoad returns the one address fn loads with size bytes.
func (d *globalDecoder) onlyLoad(fn string, size int) (uint64, error) {
	insts, err := d.body(fn)
	if err != nil {
		return 0, err
	}
	var a uint64
	for _, r := range globalReads(insts) {
		if r.size == size {
			if a != 0 && r.addr != a {
				return 0, fmt.Errorf("%s: loads both %#x and %#x", fn, a, r.addr)
			}
			a = r.addr
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("%s: no %d-byte global load", fn, size)
	}
	return a, nil
}

// receiver finds a singleton global through the address passed as the
// receiver of its methods (methodPrefix, e.g. "runtime.(*gcControllerState).")
// in the candidate functions, minus fieldOff when the methods belong to a
// field. At least two call sites must agree and none may disagree.
func (d *globalDecoder) receiver(methodPrefix string, fieldOff uint64, funcs ...string) (uint64, string, error) {
	var a uint64
	var src string
	n := 0
	for _, fn := range funcs {
		insts, err := d.body(fn)
		if err != nil {
			continue
		}
		for i, in := range insts {
			if !strings.HasPrefix(d.calleeName(in), methodPrefix) {
				continue
			}
			r, ok := receiverArg(insts[:i])
			if !ok {
				continue
			}
			r -= fieldOff
			if a != 0 && r != a {
				return 0, "", fmt.Errorf("%s receivers disagree: %#x (%s) and %#x (%s)", methodPrefix, a, src, r, fn)
			}
			if a == 0 {
				src = fn
			}
			a = r
			n++
		}
	}
	if n < 2 {
		return 0, "", fmt.Errorf("%s: %d call sites with a global receiver in %v, want 2", methodPrefix, n, funcs)
	}
	return a, src, nil
}

// untilCall returns insts up to the first call.
func untilCall(insts []Inst) []Inst {
	for i, in := range insts {
		if in.Call {
			return insts[:i]
		}
	}
	return insts
}

// allfin: queuefinalizer allocates a block when finc is empty:
// `finc = persistentalloc(...); finc.alllink = allfin; allfin = finc`. After
// the call to persistentalloc, the first 8-byte global store is finc; the
// next 8-byte global load is allfin, which is then stored to.
func (d *globalDecoder) allfin() (uint64, error) {
	const fn = "runtime.queuefinalizer"
	insts, err := d.body(fn)
	if err != nil {
		return 0, err
	}
	rest, ok := d.afterCall(insts, "runtime.persistentalloc")
	if !ok {
		return 0, fmt.Errorf("%s: no call to persistentalloc", fn)
	}
	var finc, a uint64
	for _, in := range rest {
		switch {
		case in.Call:
			return 0, fmt.Errorf("%s: call before `allfin = finc`", fn)
		case finc == 0 && isStore(in, 8):
			finc = in.MemRef
		case finc != 0 && a == 0 && isLoad(in, 8) && in.MemRef != finc:
			a = in.MemRef
		case a != 0 && isStore(in, 8) && in.MemRef == a:
			return a, nil
		}
	}
	return 0, fmt.Errorf("%s: no `finc.alllink = allfin; allfin = finc` after persistentalloc", fn)
}
