package goruntime

import (
	"encoding/binary"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// CleanupCall identifies the cleanup call in progress on one cleanup
// goroutine (Go 1.25+): runCleanups clears each entry of its block just
// before calling it, so the block and the number of cleared entries name the
// call. Two reads that return the same CleanupCall (with the same
// gcCleanups.executed) saw the same call.
type CleanupCall struct {
	Block uint64 // the cleanupBlock being run (runtime address)
	Index int    // the entry being run
	N     int    // entries in the block
}

// cleanupBlockGeometry returns the cleanupBlock layout: n offset, entries
// offset, entry size and capacity.
func (r *Runtime) cleanupBlockGeometry() (nOff, eOff, es, capacity uint64, err error) {
	size, ok := r.l.Size("runtime.cleanupBlock")
	if !ok || size <= 0 || size > 1<<16 {
		return 0, 0, 0, 0, fmt.Errorf("cleanupBlock layout unknown for %s: %w", r.b.GoVersion, ErrUnknown)
	}
	if nOff, err = r.off("runtime.cleanupBlock.cleanupBlockHeader.n"); err != nil {
		return
	}
	if eOff, err = r.off("runtime.cleanupBlock.cleanups"); err != nil {
		return
	}
	es = 8 // Go 1.25: *funcval
	if s, ok := r.l.Size("runtime.cleanupFn"); ok {
		es = uint64(s) // 1.26+: {call, fn, arg}
	}
	if eOff >= uint64(size) || nOff+4 > eOff || es == 0 {
		return 0, 0, 0, 0, fmt.Errorf("cleanupBlock layout inconsistent: %w", ErrUnknown)
	}
	return nOff, eOff, es, (uint64(size) - eOff) / es, nil
}

// cleanupCall reads the call in progress on a cleanup goroutine from its
// runner frame: the frame word that points to a cleanupBlock whose first
// entries are cleared (those run, and the running one) and whose others up
// to n are not. It does not check that a cleanup is running.
func (r *Runtime) cleanupCall(g *Goroutine) (*CleanupCall, error) {
	cs := r.b.Probes.CleanupCall
	if cs == nil || r.b.Probes.CleanupRunner != "runtime.runCleanups" {
		return nil, fmt.Errorf("cleanup call site in runtime.runCleanups not located: %w", ErrUnknown)
	}
	nOff, eOff, es, capacity, err := r.cleanupBlockGeometry()
	if err != nil {
		return nil, err
	}
	sp, delta, err := r.runnerFrameSP(g, cs.Call.Addr)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, delta)
	if err := procmem.ReadFull(r.mem, frame, sp); err != nil {
		return nil, fmt.Errorf("reading the cleanup runner's frame: %w", err)
	}
	le := binary.LittleEndian
	buf := make([]byte, eOff+es*capacity)
	zero := func(k uint64) bool {
		for _, b := range buf[eOff+k*es : eOff+(k+1)*es] {
			if b != 0 {
				return false
			}
		}
		return true
	}
	for _, i := range slotOrder(r.cleanupSlot, len(frame)) {
		p := le.Uint64(frame[i:])
		if p == 0 || p%8 != 0 || (p >= g.StackLo && p < g.StackHi) {
			continue
		}
		if procmem.ReadFull(r.mem, buf, p) != nil {
			continue
		}
		n := uint64(le.Uint32(buf[nOff:]))
		if n == 0 || n > capacity {
			continue
		}
		cleared := uint64(0)
		for cleared < n && zero(cleared) {
			cleared++
		}
		ok := cleared >= 1
		for k := cleared; k < n && ok; k++ {
			ok = !zero(k)
		}
		for k := n; k < capacity && ok; k++ {
			ok = zero(k)
		}
		if ok {
			r.cleanupSlot = i + 1
			return &CleanupCall{Block: p, Index: int(cleared) - 1, N: int(n)}, nil
		}
	}
	return nil, fmt.Errorf("no cleanupBlock in the cleanup runner's frame")
}
