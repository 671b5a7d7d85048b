package goruntime

import (
	"errors"
	"fmt"

	"github.com/memsight/memsight/pkg/procmem"
)

// maxGoroutines bounds one AllGoroutines walk.
const maxGoroutines = 1 << 20

// AllGoroutines reads up to limit goroutines from runtime.allgs (dead ones
// included: the runtime reuses them). Stacks are not read (StackErr "not
// read"); use Goroutine for one with its stack. The list changes while it is
// read: goroutines created meanwhile may be missing, and a g that cannot be
// read any more is skipped.
func (r *Runtime) AllGoroutines(limit int) ([]*Goroutine, error) {
	if limit <= 0 || limit > maxGoroutines {
		limit = maxGoroutines
	}
	allgs, err := r.addr(r.b.Globals.AllGs, "allgs")
	if err != nil {
		return nil, err
	}
	ptrs, err := r.pointerSlice(allgs, maxGoroutines)
	if err != nil {
		return nil, fmt.Errorf("reading runtime.allgs: %w", err)
	}
	if len(ptrs) > limit {
		ptrs = ptrs[:limit]
	}
	out := make([]*Goroutine, 0, len(ptrs))
	for _, p := range ptrs {
		if p == 0 {
			continue
		}
		g, err := r.goroutine(p, false)
		if err != nil {
			if errors.Is(err, procmem.ErrNoProcess) {
				return out, err
			}
			continue
		}
		out = append(out, g)
	}
	return out, nil
}

// AllGLen reads runtime.allglen: how many g's the runtime has ever
// allocated (live and dead ones kept for reuse). It only grows, and it grows
// when the live goroutines outnumber the g's there were to reuse: one 8-byte
// read that tells whether a census can have changed much.
func (r *Runtime) AllGLen() (uint64, error) {
	addr, err := r.addr(r.b.Globals.AllGLen, "allglen")
	if err != nil {
		return 0, err
	}
	return procmem.ReadU64(r.mem, addr)
}
