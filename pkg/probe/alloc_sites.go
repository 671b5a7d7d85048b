package probe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// AllocSite is one allocating user stack of a process and what the
// allocation probes recorded there since they were attached. Only the
// outermost probed call of an allocation is recorded, so a large allocation
// counts once although it passes both mallocgcLarge and mheap.alloc.
type AllocSite struct {
	// PCs is the stack, innermost first, as mapped in the process (subtract
	// the PIE load bias before symbolizing). PCs[0] is the probed
	// instruction in the allocation function; the others are return
	// addresses. At most 32 frames: deeper callers are cut off.
	PCs []uint64
	// Hits is how often the probes recorded this stack.
	Hits uint64
	// Bytes is their byte count: the object size (mallocgc family and large
	// allocations), the pages taken (mheap.alloc), or one span of the size
	// class (refill: an estimate of the small allocations that filled the
	// previous span).
	Bytes uint64
}

// Sites returns the process's allocation sites, in no particular order.
func (a *AllocAttachment) Sites() ([]AllocSite, error) {
	var (
		k   memsightAllocSite
		v   memsightAllocStat
		out []AllocSite
	)
	it := a.p.objs.AllocSites.Iterate()
	for it.Next(&k, &v) {
		if k.Tgid != uint32(a.pid) {
			continue
		}
		n := 0
		for n < len(k.Pcs) && k.Pcs[n] != 0 {
			n++
		}
		out = append(out, AllocSite{PCs: append([]uint64(nil), k.Pcs[:n]...), Hits: v.Hits, Bytes: v.Bytes})
	}
	if err := it.Err(); err != nil {
		return out, fmt.Errorf("reading allocation sites of pid %d: %w", a.pid, err)
	}
	return out, nil
}

// deleteAllocSites forgets every allocation site of pid.
func (p *Probes) deleteAllocSites(pid int) error {
	var (
		k     memsightAllocSite
		v     memsightAllocStat
		stale []memsightAllocSite
	)
	it := p.objs.AllocSites.Iterate()
	for it.Next(&k, &v) {
		if k.Tgid == uint32(pid) {
			stale = append(stale, k)
		}
	}
	errs := []error{it.Err()}
	for i := range stale {
		if err := p.objs.AllocSites.Delete(&stale[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("forgetting allocation sites of pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// AllocCounters are the allocation probes' global counters (all processes,
// since New).
type AllocCounters struct {
	// Nested counts hits inside a probed allocation call, not recorded
	// again (refill inside a probed mallocgc variant, mheap.alloc inside
	// mallocgcLarge, ...).
	Nested uint64
	// StackErrors counts hits whose user stack could not be read.
	StackErrors uint64
	// SitesFull counts hits lost because the site map (16384 stacks) was full.
	SitesFull uint64
}

// AllocCounters reads the allocation probes' global counters.
func (p *Probes) AllocCounters() (AllocCounters, error) {
	var c AllocCounters
	for idx, dst := range map[memsightAllocCounter]*uint64{
		memsightAllocCounterALLOC_CNT_NESTED:     &c.Nested,
		memsightAllocCounterALLOC_CNT_STACK_ERR:  &c.StackErrors,
		memsightAllocCounterALLOC_CNT_SITES_FULL: &c.SitesFull,
	} {
		var per []uint64
		if err := p.objs.AllocCounters.Lookup(uint32(idx), &per); err != nil {
			return c, fmt.Errorf("reading alloc_counters[%d]: %w", idx, err)
		}
		for _, v := range per {
			*dst += v
		}
	}
	return c, nil
}
