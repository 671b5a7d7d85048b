package probe

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/memsight/memsight/pkg/goexe"
)

// Sizes of the allocation maps and records, from the object's enum limit
// (bpf/include/memsight/maps.h).
const (
	maxAllocSlots   = int(memsightLimitALLOC_MAX_SLOTS)
	allocMaxFrames  = int(memsightLimitALLOC_MAX_FRAMES)
	allocNumClasses = int(memsightLimitALLOC_NUM_CLASSES)
)

// AllocTarget is what AttachAlloc needs to probe one process's allocations.
type AllocTarget struct {
	// ExePath is the executable (as for Target.ExePath).
	ExePath string
	// PID is the process. Allocation probes are always attached for one
	// process, and record only while it is watched (Attach with the same
	// PID watches it).
	PID  int
	Arch goexe.Arch
	// Probes are the functions to probe (from goexe.Binary.AllocPoints).
	Probes []goexe.AllocProbe
	// SpanBytes is goexe's bytes-per-span table (AllocPoints.SpanBytes).
	SpanBytes []uint32
	// Funcs gives the probed functions' bounds, which make the check for a
	// hit inside another probed allocation call exact. Nil: the check uses
	// return addresses only.
	Funcs FuncTable
}

// AllocPoint is one attached allocation probe.
type AllocPoint struct {
	Name string // the probed function
	Kind goexe.AllocKind
	// Emulated reports that the kernel emulates the probed instruction
	// (a cheap hit, see TrapCost).
	Emulated bool
	// Detached is set once Detach removed the probe.
	Detached bool
}

// AllocAttachment is the set of allocation probes of one process. Each
// probe can be detached on its own (Detach); Close removes the rest and
// forgets the process's allocation sites.
type AllocAttachment struct {
	p   *Probes
	pid int

	mu     sync.Mutex
	probes []allocProbe

	closeOnce sync.Once
	closeErr  error
}

type allocProbe struct {
	AllocPoint
	slot uint32
	link link.Link
}

// AttachAlloc attaches an entry probe (at its cheap point) to every
// function of t.Probes, for t.PID only. A probe that fails to attach fails
// AttachAlloc. It also turns on the kernel's BPF run-time statistics when it
// may (see Config.Stats; they stay on until Close of the Probes), so that
// the cost of a hit can be measured (AllocProgramStats).
func (p *Probes) AttachAlloc(t AllocTarget) (*AllocAttachment, error) {
	if t.PID <= 0 {
		return nil, fmt.Errorf("attaching allocation probes to %s: invalid pid %d", t.ExePath, t.PID)
	}
	if string(t.Arch) != runtime.GOARCH {
		return nil, fmt.Errorf("attaching allocation probes to %s: binary is %s, memsight runs on %s", t.ExePath, t.Arch, runtime.GOARCH)
	}
	if len(t.SpanBytes) != allocNumClasses {
		return nil, fmt.Errorf("attaching allocation probes to %s: %d size classes, want %d", t.ExePath, len(t.SpanBytes), allocNumClasses)
	}
	for class, n := range t.SpanBytes {
		if err := p.objs.AllocSpanBytes.Put(uint32(class), n); err != nil {
			return nil, fmt.Errorf("writing alloc_span_bytes[%d]: %w", class, err)
		}
	}
	ex, err := link.OpenExecutable(t.ExePath)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", t.ExePath, err)
	}
	p.enableAllocStats()
	a := &AllocAttachment{p: p, pid: t.PID}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("attaching allocation probes: probes are closed")
	}
	p.allocs[a] = struct{}{}
	p.mu.Unlock()
	for _, ap := range t.Probes {
		best := ap.Best()
		cookie, err := allocCookie(t.Funcs, ap)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("attaching %s to %s: %w", ap.Name(), t.ExePath, err), a.Close())
		}
		slot, err := p.allocSlot()
		if err != nil {
			return nil, errors.Join(err, a.Close())
		}
		pr := allocProbe{AllocPoint: AllocPoint{Name: ap.Name(), Kind: ap.Kind, Emulated: best.Emulated}, slot: slot}
		a.mu.Lock()
		a.probes = append(a.probes, pr) // owns the slot from here on
		a.mu.Unlock()
		l, err := p.uprobe(ex, p.objs.AllocProbe, best.Offset, t.PID, cookieWithIndex(cookie, slot))
		if err != nil {
			err = fmt.Errorf("attaching %s at %#x (file offset %#x) of %s: %w", ap.Name(), best.Addr, best.Offset, t.ExePath, err)
			return nil, errors.Join(err, a.Close())
		}
		a.mu.Lock()
		a.probes[len(a.probes)-1].link = l
		a.mu.Unlock()
	}
	p.log.Debug("allocation probes attached", "exe", t.ExePath, "pid", t.PID, "points", len(t.Probes))
	return a, nil
}

// allocSlot reserves a free alloc_hits slot and zeroes its counters.
func (p *Probes) allocSlot() (uint32, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.allocSlots {
		if p.allocSlots[i] {
			continue
		}
		zero := make([]uint64, ebpfCPUs())
		if err := p.objs.AllocHits.Put(uint32(i), zero); err != nil {
			return 0, fmt.Errorf("resetting alloc_hits[%d]: %w", i, err)
		}
		p.allocSlots[i] = true
		return uint32(i), nil
	}
	return 0, fmt.Errorf("attaching allocation probes: more than %d at a time", maxAllocSlots)
}

func ebpfCPUs() int {
	n, err := ebpf.PossibleCPU()
	if err != nil || n < 1 {
		return runtime.NumCPU()
	}
	return n
}

// Points lists the probes, attached and detached.
func (a *AllocAttachment) Points() []AllocPoint {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AllocPoint, 0, len(a.probes))
	for _, pr := range a.probes {
		out = append(out, pr.AllocPoint)
	}
	return out
}

// Hits returns each probe's hits since it was attached (a detached probe
// keeps its final count), keyed by function name.
func (a *AllocAttachment) Hits() (map[string]uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]uint64, len(a.probes))
	for _, pr := range a.probes {
		var per []uint64
		if err := a.p.objs.AllocHits.Lookup(pr.slot, &per); err != nil {
			return nil, fmt.Errorf("reading alloc_hits[%d] (%s): %w", pr.slot, pr.Name, err)
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		out[pr.Name] += n
	}
	return out, nil
}

// Detach removes the probes on the named functions (their sites stay
// recorded). The links are closed concurrently: closing a uprobe waits for
// an RCU grace period, tens of milliseconds each, during which a probe that
// is still attached keeps costing.
func (a *AllocAttachment) Detach(names ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var (
		links []link.Link
		errs  []error
	)
	for _, name := range names {
		found := false
		for i := range a.probes {
			pr := &a.probes[i]
			if pr.Name != name || pr.Detached {
				continue
			}
			found = true
			pr.Detached = true
			if pr.link != nil {
				links = append(links, pr.link)
				pr.link = nil
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("detaching allocation probe %s of pid %d: not attached", name, a.pid))
		}
	}
	errs = append(errs, closeLinks(links))
	// A recorded call of a detached function must not hide the hits of the
	// remaining probes inside later calls of it.
	errs = append(errs, a.p.resetAllocCalls())
	return errors.Join(errs...)
}

// closeLinks closes links concurrently, so that their RCU waits overlap.
func closeLinks(links []link.Link) error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Go(func() { errs[i] = l.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *Probes) resetAllocCalls() error {
	if err := p.objs.AllocLast.Put(uint32(0), make([]memsightAllocCall, ebpfCPUs())); err != nil {
		return fmt.Errorf("resetting alloc_last: %w", err)
	}
	return nil
}

// Close detaches the remaining probes, frees their slots and forgets the
// process's allocation sites. It is idempotent.
func (a *AllocAttachment) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		a.mu.Lock()
		probes := a.probes
		a.probes = nil
		a.mu.Unlock()
		var links []link.Link
		for _, pr := range probes {
			if pr.link != nil {
				links = append(links, pr.link)
			}
		}
		errs = append(errs, closeLinks(links))
		if len(probes) > 0 {
			errs = append(errs, a.p.resetAllocCalls(), a.p.deleteAllocSites(a.pid))
		}
		p := a.p
		p.mu.Lock()
		for _, pr := range probes {
			p.allocSlots[pr.slot] = false
		}
		delete(p.allocs, a)
		p.mu.Unlock()
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
