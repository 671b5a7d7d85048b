package probe

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/memsight/memsight/pkg/goexe"
)

// Target is what Attach needs to know about one Go executable.
type Target struct {
	// ExePath is the executable to probe: the file, or /proc/PID/exe (which
	// still works after the file was replaced or deleted). Probes bind to its
	// inode, so every process running it is seen (and recorded if watched).
	ExePath string
	// PID, when not 0, limits the probes to that process (all its threads)
	// and watches it. 0 probes every process of the executable.
	PID int
	// Points are the probe points goexe located. Nil points are skipped.
	Points goexe.ProbePoints
	// GoMinor is the binary's Go 1.x minor version (26 for go1.26.8).
	GoMinor int
	// Arch is the binary's architecture; it must be the one memsight runs on.
	Arch goexe.Arch
	// GoidOffset is the offset of goid in runtime.g, or -1 when unknown
	// (goroutine IDs are then reported as 0 and running cleanups are tracked
	// per thread).
	GoidOffset int64
	// SchedPCOffset is the offset of sched.pc in runtime.g (goexe's layout
	// field "runtime.g.sched.pc"), or 0 or less when unknown. Entry probes
	// read it to recognize a morestack re-execution (see Funcs); unknown,
	// such hits count twice.
	SchedPCOffset int64
	// Trace selects the probe groups to attach. The zero value attaches
	// none: memsight's default set reads everything from memory, and the
	// target pays nothing per object or per GC cycle.
	Trace Trace
	// Funcs gives the bounds of the functions with entry probes
	// (*goexe.Binary implements it). With it and SchedPCOffset, an entry
	// probe's second hit when the function's prologue calls morestack and
	// restarts it is not counted twice; without it (nil), such hits count
	// twice (rare: stack growth or preemption exactly at that call).
	Funcs FuncTable
}

// FuncTable finds the function holding a link-time address.
type FuncTable interface {
	FuncAt(pc uint64) (goexe.Func, bool)
}

// Trace is a set of opt-in probe groups.
type Trace struct {
	// Finalizers attaches the per-object probes: every SetFinalizer call,
	// every finalizer queued, every finalizer and cleanup call's start and
	// end, every cleanup queued (Go 1.25+). They give registered_total and
	// exact start times, at a trap per object (≈1 µs here) and so a cost
	// proportional to the target's work.
	Finalizers bool
	// GC attaches the per-cycle probes: GC cycle start and every
	// stop-the-world pause's stop and start (GC or not).
	GC bool
}

// Any reports whether any group is selected.
func (t Trace) Any() bool { return t.Finalizers || t.GC }

// Per-object and per-cycle probe point names, by group (the ProbePoints
// JSON names; a call site's second probe adds ".resume").
var (
	FinalizerPoints = []string{"queuefinalizer", "setfinalizer", "finalizer_call", "cleanup_enqueue", "cleanup_call"}
	GCPoints        = []string{"gc_start_cycle", "stw_stop", "stw_start"}
)

// Attachment is the set of probes attached for one Target.
type Attachment struct {
	p       *Probes
	pid     int // the PID Attach watched, 0 if none
	cfg     uint32
	links   []link.Link
	points  []string
	skipped map[string]string

	mu       sync.Mutex
	detached map[string]bool // points detached by Detach
	emulated []bool          // per point: the kernel emulates its instruction

	closeOnce sync.Once
	closeErr  error
}

// probePlan is one probe to attach: a point name (the ProbePoints JSON name,
// with ".resume" for the instruction after a call) and its program.
type probePlan struct {
	name   string
	prog   *ebpf.Program
	point  *goexe.Point
	cookie uint64 // the BPF cookie above its index (funcCookie)
}

// Attach attaches a uprobe for every located point of t. A point that goexe
// did not locate (or that the binary's Go version does not have) is skipped
// and listed by Skipped; a located point that fails to attach fails Attach.
//
// Every attachment counts: attaching one executable twice for a watched
// process (say once for all processes and once for its PID) counts each of
// its events twice. PIDs are those of memsight's PID namespace for the kernel
// filter and of the initial namespace in counters and events: run memsight in
// the host PID namespace.
func (p *Probes) Attach(t Target) (*Attachment, error) {
	start := time.Now()
	if t.ExePath == "" {
		return nil, errors.New("attaching probes: empty executable path")
	}
	if string(t.Arch) != runtime.GOARCH {
		return nil, fmt.Errorf("attaching probes to %s: binary is %s, memsight runs on %s", t.ExePath, t.Arch, runtime.GOARCH)
	}
	if t.PID < 0 {
		return nil, fmt.Errorf("attaching probes to %s: invalid pid %d", t.ExePath, t.PID)
	}
	ex, err := link.OpenExecutable(t.ExePath)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", t.ExePath, err)
	}
	a := &Attachment{p: p, skipped: make(map[string]string)}
	if a.cfg, err = p.newConfig(t); err != nil {
		return nil, err
	}
	for _, pl := range p.plan(t, a.skipped) {
		l, err := p.uprobe(ex, pl.prog, pl.point.Offset, t.PID, cookieWithIndex(pl.cookie, a.cfg))
		if err != nil {
			err = fmt.Errorf("attaching %s at %s %#x (file offset %#x) of %s: %w",
				pl.name, pl.point.Func, pl.point.Addr, pl.point.Offset, t.ExePath, err)
			return nil, errors.Join(err, a.Close())
		}
		a.links = append(a.links, l)
		a.points = append(a.points, pl.name)
		a.emulated = append(a.emulated, pl.point.Emulated)
	}
	if t.PID != 0 {
		if err := p.Watch(t.PID); err != nil {
			return nil, errors.Join(err, a.Close())
		}
		a.pid = t.PID
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.Join(errors.New("attaching probes: probes are closed"), a.Close())
	}
	p.attachments[a] = struct{}{}
	p.mu.Unlock()
	p.log.Debug("probes attached", "exe", t.ExePath, "pid", t.PID, "points", len(a.points),
		"skipped", len(a.skipped), "duration", time.Since(start))
	return a, nil
}

// uprobe attaches prog at a file offset, for one process or (pid 0) all,
// with the given BPF cookie.
func (p *Probes) uprobe(ex *link.Executable, prog *ebpf.Program, off uint64, pid int, cookie uint64) (link.Link, error) {
	if p.multi {
		l, err := ex.UprobeMulti(nil, prog, &link.UprobeMultiOptions{
			Addresses: []uint64{off}, Cookies: []uint64{cookie}, PID: uint32(pid),
		})
		return l, permission(err)
	}
	l, err := ex.Uprobe("", prog, &link.UprobeOptions{Address: off, PID: pid, Cookie: cookie})
	if err != nil && errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w (perf uprobes need CAP_SYS_ADMIN since Linux 6.16): %w", ErrPermission, err)
	}
	return l, err
}

// plan lists the probes to attach for t; skipped collects the others and why.
func (p *Probes) plan(t Target, skipped map[string]string) []probePlan {
	o := &p.objs.memsightPrograms
	pts := &t.Points
	var plan []probePlan
	missing := func(name string) {
		if why := pts.Missing[name]; why != "" {
			skipped[name] = why
		} else {
			skipped[name] = "not located"
		}
	}
	entry := func(name string, fp *goexe.FuncProbe, prog *ebpf.Program) {
		if fp == nil {
			missing(name)
			return
		}
		best := fp.Best()
		plan = append(plan, probePlan{name, prog, &best, funcCookie(t.Funcs, fp.Entry.Addr, best.Addr)})
	}
	// The end probe goes first, so that every recorded start gets its end.
	call := func(name string, cs *goexe.CallSite, start, end *ebpf.Program) {
		if cs == nil {
			missing(name)
			return
		}
		plan = append(plan, probePlan{name + ".resume", end, &cs.Resume, 0}, probePlan{name, start, &cs.Call, 0})
	}
	if t.Trace.Finalizers {
		entry("queuefinalizer", pts.QueueFinalizer, o.Queuefinalizer)
		entry("setfinalizer", pts.SetFinalizer, o.Setfinalizer)
		call("finalizer_call", pts.FinalizerCall, o.FinalizerStart, o.FinalizerEnd)
		switch {
		case t.GoMinor < 24:
			skipped["cleanup_call"] = fmt.Sprintf("go1.%d has no cleanups", t.GoMinor)
		case t.GoMinor == 24: // cleanups are queued by queuefinalizer and run by runfinq
			call("cleanup_call", pts.CleanupCall, o.CleanupStart, o.CleanupEnd)
		default:
			entry("cleanup_enqueue", pts.CleanupEnqueue, o.CleanupEnqueue)
			call("cleanup_call", pts.CleanupCall, o.CleanupStart, o.CleanupEnd)
		}
	}
	if t.Trace.GC {
		entry("gc_start_cycle", pts.GCStartCycle, o.GcStartCycle)
		entry("stw_stop", pts.STWStop, o.StwStop)
		entry("stw_start", pts.STWStart, o.StwStart)
	}
	return plan
}

// newConfig stores t's per-binary parameters in a free binconfigs slot and
// returns its index, which every probe of the attachment carries as cookie.
func (p *Probes) newConfig(t Target) (uint32, error) {
	c := memsightBinconfig{
		GoidOff:     t.GoidOffset,
		SchedPcOff:  t.SchedPCOffset,
		GoMinor:     uint32(t.GoMinor),
		CleanupMode: uint32(cleanupMode(t.GoMinor)),
		Flags:       uint32(memsightBinconfigFlagCFG_VALID),
	}
	if c.GoidOff < 0 {
		c.GoidOff = -1
	}
	if c.SchedPcOff <= 0 {
		c.SchedPcOff = -1
	}
	switch t.Arch {
	case goexe.AMD64:
		c.FvSpOff = 8 // CALL reflectcall is an ABI0 call: fn is the 2nd stack word
	case goexe.ARM64:
		c.FvSpOff = 16 // above the saved LR slot
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errors.New("attaching probes: probes are closed")
	}
	for i := range p.configs {
		if p.configs[i] {
			continue
		}
		if err := p.objs.Binconfigs.Put(uint32(i), &c); err != nil {
			return 0, fmt.Errorf("writing binconfigs[%d]: %w", i, err)
		}
		p.configs[i] = true
		return uint32(i), nil
	}
	return 0, fmt.Errorf("attaching probes to %s: more than %d attachments", t.ExePath, maxBinconfigs-1)
}

func cleanupMode(minor int) memsightCleanupMode {
	switch {
	case minor < 24:
		return memsightCleanupModeCLEANUP_NONE
	case minor == 24:
		return memsightCleanupModeCLEANUP_GO124
	case minor == 25:
		return memsightCleanupModeCLEANUP_GO125
	default:
		return memsightCleanupModeCLEANUP_GO126
	}
}

// Points lists the attached probe points by ProbePoints JSON name (a call
// site's second probe is "<name>.resume"), detached ones included.
func (a *Attachment) Points() []string { return append([]string(nil), a.points...) }

// Detached lists the points Detach removed.
func (a *Attachment) Detached() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, p := range a.points {
		if a.detached[p] {
			out = append(out, p)
		}
	}
	return out
}

// Detach closes the probes of the named points (a call site's name detaches
// both of its probes, so no start is left without its end), e.g. when an
// overhead governor finds them too costly. The rest stay attached. Unknown
// or already detached names are ignored.
func (a *Attachment) Detach(names ...string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.detached == nil {
		a.detached = map[string]bool{}
	}
	var errs []error
	for i, p := range a.points {
		base := strings.TrimSuffix(p, ".resume")
		if a.detached[p] || a.links[i] == nil || !slices.Contains(names, base) {
			continue
		}
		errs = append(errs, a.links[i].Close())
		a.links[i] = nil
		a.detached[p] = true
	}
	return errors.Join(errs...)
}

// Skipped maps each point that was not attached to the reason.
func (a *Attachment) Skipped() map[string]string {
	m := make(map[string]string, len(a.skipped))
	for k, v := range a.skipped {
		m[k] = v
	}
	return m
}

// Close detaches the probes and frees the attachment's config slot. When the
// attachment was for one PID, that process is unwatched and its counters are
// forgotten. Close is idempotent.
func (a *Attachment) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		a.mu.Lock()
		for _, l := range a.links {
			if l != nil {
				errs = append(errs, l.Close())
			}
		}
		a.links = nil
		a.mu.Unlock()
		p := a.p
		if a.pid != 0 {
			errs = append(errs, p.Unwatch(a.pid))
		}
		p.mu.Lock()
		if a.cfg != 0 {
			// Zero the slot so a stale cookie finds no valid config.
			errs = append(errs, p.objs.Binconfigs.Put(a.cfg, &memsightBinconfig{}))
			p.configs[a.cfg] = false
		}
		delete(p.attachments, a)
		p.mu.Unlock()
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
