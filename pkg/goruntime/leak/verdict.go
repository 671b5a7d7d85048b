package leak

import (
	"context"
	"fmt"
	"time"
)

// mark runs one mark to its fixed point, the way the runtime's goroutine
// leak GC does (mgc.go findGoroutineLeaks): the roots are the globals, the
// finalizer and cleanup blocks, the specials, and the stacks of the
// goroutines not blocked on a channel or sync primitive, with the sudog
// words through which a blocked goroutine reaches its own primitive hidden.
// When the heap is marked, each blocked goroutine whose primitive was marked
// (or is not a heap object) becomes a root and its stack is scanned; this
// repeats until no more do. The goroutines left are leaked.
func (e *Marker) mark(ctx context.Context) (*markResult, error) {
	start := time.Now()
	e.r = newReader(ctx, e.mem, e.cfg.ReadRate)
	e.stats = stackStats{}
	L := e.L
	h := newHeap(L, e.r, arenaBaseOffset(e.b.Arch), e.cfg.MaxMemory)
	l2, err := e.r.u64(e.mheap + L.mheapArenas)
	if err != nil {
		return nil, fmt.Errorf("reading mheap_.arenas: %w", err)
	}
	if l2 == 0 {
		return nil, fmt.Errorf("mheap_.arenas[0] is nil: %w", ErrChanged)
	}
	h.l2 = l2
	m := newMarker(L, e.r, h, newTypes(L, e.r))
	gs, err := e.readGoroutines(h)
	if err != nil {
		return nil, err
	}
	if err := e.hideSudogs(m, gs); err != nil {
		return nil, err
	}
	for _, scan := range []func(*marker) error{e.scanGlobals, e.scanFinalizerBlocks, e.scanCleanupBlocks, e.scanSpecials, e.scanTinyBlocks} {
		if err := scan(m); err != nil {
			return nil, err
		}
	}
	for _, g := range gs {
		if !g.blocked() {
			g.root = true
			if err := e.scanStack(m, g); err != nil {
				return nil, err
			}
		}
	}
	if err := m.drain(); err != nil {
		return nil, err
	}
	newChecked := false
	for {
		more := false
		for _, g := range gs {
			if g.root || !g.blocked() || !m.maybeRunnable(g) {
				continue
			}
			g.root, more = true, true
			if err := e.scanStack(m, g); err != nil {
				return nil, err
			}
		}
		if !more && !newChecked {
			// Goroutines started since the snapshot may hold the only
			// reference to something (their closure): scan them too.
			newChecked = true
			n, err := e.scanNewGoroutines(m, gs)
			if err != nil {
				return nil, err
			}
			more = n > 0
		}
		if !more {
			break
		}
		if err := m.drain(); err != nil {
			return nil, err
		}
	}
	res := &markResult{gs: gs, m: m, stats: e.stats, r: e.r}
	for _, g := range gs {
		// The main goroutine in select{} counts as leaked during the
		// analysis (it keeps nothing else alive) but is not reported.
		if g.blocked() && !g.root && !(g.goid == 1 && g.class == waitNever && g.reason == "select (no cases)") {
			res.leaked = append(res.leaked, g)
		}
	}
	res.elapsed = time.Since(start)
	return res, nil
}

// hideSudogs resolves the spans of the blocked goroutines' sudogs and
// primitives, and hides the sudog words that lead to the primitives, as the
// runtime's setSyncObjectsUntraceable: c for a channel wait (elem, the
// value sent or the receiver's slot, stays traced), elem for a sync wait.
func (e *Marker) hideSudogs(m *marker, gs []*gState) error {
	var addrs []uint64
	for _, g := range gs {
		for _, sg := range g.sudogs {
			addrs = append(addrs, sg.addr, sg.c, sg.elem)
		}
	}
	if err := m.h.resolve(addrs); err != nil {
		return err
	}
	for _, g := range gs {
		if g.class != waitChan && g.class != waitSync {
			continue
		}
		what := uint8(hideC)
		if g.class == waitSync {
			what = hideElem
		}
		for _, sg := range g.sudogs {
			m.hidden[sg.addr] |= what
			if s := m.h.spanOf(sg.addr); s != nil {
				s.hidden = true
			}
		}
	}
	return nil
}

// maybeRunnable is the runtime's isMaybeRunnable for a blocked goroutine:
// a channel waiter once one of its channels is marked or not in the heap,
// a sync waiter once its primitive is; never for a nil channel or an empty
// select.
func (m *marker) maybeRunnable(g *gState) bool {
	switch g.class {
	case waitNever:
		return false
	case waitChan:
		for _, sg := range g.sudogs {
			if m.isMarkedOrNotInHeap(sg.c) {
				return true
			}
		}
		return false
	case waitSync:
		return len(g.sudogs) == 0 || m.isMarkedOrNotInHeap(g.sudogs[0].elem)
	}
	return true
}

// scanNewGoroutines scans, as roots, the goroutines allgs holds now that
// the snapshot did not: started during the mark. It returns how many.
func (e *Marker) scanNewGoroutines(m *marker, gs []*gState) (int, error) {
	hdr := make([]byte, 16)
	if err := e.r.read(hdr, e.allgs); err != nil {
		return 0, fmt.Errorf("reading runtime.allgs: %w", err)
	}
	ptr, n := le64(hdr, 0), le64(hdr, 8)
	if n > maxGoroutines {
		return 0, fmt.Errorf("runtime.allgs has %d entries: %w", n, ErrChanged)
	}
	ptrs := make([]byte, 8*n)
	if err := e.r.read(ptrs, ptr); err != nil {
		return 0, fmt.Errorf("reading %d runtime.allgs entries: %w", n, err)
	}
	known := make(map[uint64]bool, len(gs))
	for _, g := range gs {
		known[g.addr] = true
	}
	var fresh []uint64
	for i := uint64(0); i < n; i++ {
		if a := le64(ptrs, 8*i); a != 0 && !known[a] {
			fresh = append(fresh, a)
		}
	}
	var news []*gState
	err := e.readGs(fresh, func(addr uint64, b []byte, ok bool) error {
		if g := e.decodeG(addr, b); ok && g != nil {
			news = append(news, g)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, g := range news {
		g.root = true
		if err := e.scanStack(m, g); err != nil {
			return 0, err
		}
	}
	return len(news), nil
}
