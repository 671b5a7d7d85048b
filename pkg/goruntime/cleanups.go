package goruntime

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/procmem"
)

// maxPs bounds len(allp).
const maxPs = 1 << 16

// CleanupState is the runtime.AddCleanup queue (Go 1.25+).
type CleanupState struct {
	// Queued = gcCleanups.queued + Σ allp[i].cleanupsQueued; Executed =
	// gcCleanups.executed (bumped per block). QueueLength = Queued - Executed
	// is what runtime/metrics reports.
	Queued, Executed, QueueLength Uint
	// Running is the number of cleanup goroutines executing cleanup
	// functions now; Goroutines the number of cleanup goroutines; Asleep
	// those parked waiting for work.
	Running, Goroutines, Asleep Uint
}

// Cleanups reads the cleanup queue.
func (r *Runtime) Cleanups() (CleanupState, error) {
	var st CleanupState
	if !r.b.Version.AtLeast(1, 25) {
		return st, fmt.Errorf("no cleanup queue before go1.25 (%s: cleanups run on the finalizer goroutine): %w", r.b.GoVersion, ErrUnknown)
	}
	q, err := r.addr(r.b.Globals.GCCleanups, "gcCleanups")
	if err != nil {
		return st, err
	}
	size, ok := r.l.Size("runtime.cleanupQueue")
	if !ok || size <= 0 || size > 4096 {
		return st, fmt.Errorf("size of runtime.cleanupQueue unknown: %w", ErrUnknown)
	}
	offs := map[string]uint64{}
	for _, f := range []string{"queued", "executed", "running", "ng", "asleep"} {
		o, err := r.off("runtime.cleanupQueue." + f)
		if err != nil {
			return st, err
		}
		offs[f] = o
	}
	// One system call for the queue, runtime.allp's header and the P's
	// counts (the P's of the last read: allp changes only with GOMAXPROCS).
	buf := make([]byte, size)
	allp, allpErr := r.addr(r.b.Globals.AllP, "allp")
	pOff, pOffErr := r.off("runtime.p.cleanupsQueued")
	spans := []procmem.Span{{Addr: q, Buf: buf}}
	var hdr [16]byte
	counts := make([][8]byte, len(r.allpPs))
	perP := allpErr == nil && pOffErr == nil
	if perP {
		spans = append(spans, procmem.Span{Addr: allp, Buf: hdr[:]})
		for i, p := range r.allpPs {
			spans = append(spans, procmem.Span{Addr: p + pOff, Buf: counts[i][:]})
		}
	}
	if err := procmem.ReadV(r.mem, spans...); err != nil {
		return st, fmt.Errorf("reading runtime.gcCleanups: %w", err)
	}
	le := binary.LittleEndian
	u64 := func(f string) uint64 { return le.Uint64(buf[offs[f]:]) }
	u32 := func(f string) uint64 { return uint64(le.Uint32(buf[offs[f]:])) }
	st.Executed = knownUint(u64("executed"))
	st.Running, st.Goroutines, st.Asleep = knownUint(u32("running")), knownUint(u32("ng")), knownUint(u32("asleep"))
	var sum uint64
	switch {
	case !perP:
		err = errors.Join(allpErr, pOffErr)
	case hdr != r.allpHdr || r.allpPs == nil:
		// allp moved or grew (or this is the first read): read the P's anew.
		sum, err = r.perPCleanupsQueued(allp, pOff)
	default:
		for _, c := range counts {
			sum += le.Uint64(c[:])
		}
	}
	if err != nil {
		why := "per-P queued counts: " + err.Error()
		st.Queued, st.QueueLength = unknownUint("%s", why), unknownUint("%s", why)
		return st, nil
	}
	st.Queued = knownUint(u64("queued") + sum)
	if st.Executed.V <= st.Queued.V {
		st.QueueLength = knownUint(st.Queued.V - st.Executed.V)
	} else {
		st.QueueLength = unknownUint("executed %d > queued %d (torn read)", st.Executed.V, st.Queued.V)
	}
	return st, nil
}

// perPCleanupsQueued reads runtime.allp and sums p.cleanupsQueued over it,
// keeping allp's header and P's for the next reads.
func (r *Runtime) perPCleanupsQueued(allp, off uint64) (uint64, error) {
	var hdr [16]byte
	if err := procmem.ReadFull(r.mem, hdr[:], allp); err != nil {
		return 0, fmt.Errorf("reading runtime.allp: %w", err)
	}
	ptrs, err := r.pointerSlice(allp, maxPs)
	if err != nil {
		return 0, fmt.Errorf("reading runtime.allp: %w", err)
	}
	bufs := make([][8]byte, len(ptrs))
	spans := make([]procmem.Span, 0, len(ptrs))
	for i, p := range ptrs {
		if p == 0 {
			return 0, fmt.Errorf("allp[%d] is nil", i)
		}
		spans = append(spans, procmem.Span{Addr: p + off, Buf: bufs[i][:]})
	}
	if err := procmem.ReadV(r.mem, spans...); err != nil {
		return 0, fmt.Errorf("reading p.cleanupsQueued: %w", err)
	}
	var sum uint64
	for _, b := range bufs {
		sum += binary.LittleEndian.Uint64(b[:])
	}
	r.allpHdr, r.allpPs = hdr, ptrs
	return sum, nil
}

// pointerSlice reads a []*T global: its header, then its elements.
func (r *Runtime) pointerSlice(addr uint64, limit int) ([]uint64, error) {
	var hdr [16]byte
	if err := procmem.ReadFull(r.mem, hdr[:], addr); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	ptr, n := le.Uint64(hdr[:]), le.Uint64(hdr[8:])
	if n > uint64(limit) {
		return nil, fmt.Errorf("length %d over the limit %d", n, limit)
	}
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, 8*n)
	if err := procmem.ReadFull(r.mem, buf, ptr); err != nil {
		return nil, err
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = le.Uint64(buf[8*i:])
	}
	return out, nil
}

// CleanupRunner is a cleanup goroutine inside a block of cleanups.
type CleanupRunner struct {
	// Goroutine is the cleanup goroutine, with its stack when readable.
	Goroutine *Goroutine
	// Call is the cleanup call in progress, nil when unreadable (CallErr).
	Call    *CleanupCall
	CallErr string
}

// CleanupRunners returns the cleanup goroutines (Go 1.25+) that are running
// cleanups now: inside a block (g.runningCleanups) and not parked waiting
// for work. ng is the number of cleanup goroutines the queue reports
// (CleanupState.Goroutines); the goroutines are looked up in allgs once and
// again only when there are more of them (they never exit).
func (r *Runtime) CleanupRunners(ng uint64) ([]CleanupRunner, error) {
	if err := r.findCleanupGs(ng); err != nil {
		return nil, err
	}
	var out []CleanupRunner
	for _, addr := range r.cleanupGs {
		g, err := r.Goroutine(addr)
		if err != nil {
			return out, err
		}
		if g.Dead() || g.RunningCleanups.Known && !g.RunningCleanups.V ||
			g.StatusName == "waiting" && g.WaitReason.V == "cleanup wait" {
			continue
		}
		cr := CleanupRunner{Goroutine: g}
		if cr.Call, err = r.cleanupCall(g); err != nil {
			cr.CallErr = err.Error()
		}
		out = append(out, cr)
	}
	return out, nil
}

// findCleanupGs fills r.cleanupGs with the goroutines started at
// runtime.runCleanups, walking allgs when fewer than ng are known.
func (r *Runtime) findCleanupGs(ng uint64) error {
	if uint64(len(r.cleanupGs)) >= ng && len(r.cleanupGs) > 0 {
		return nil
	}
	cs := r.b.Probes.CleanupCall
	if cs == nil || r.b.Probes.CleanupRunner != "runtime.runCleanups" {
		return fmt.Errorf("runtime.runCleanups not located: %w", ErrUnknown)
	}
	fn, ok := r.b.FuncAt(cs.Call.Addr)
	if !ok {
		return fmt.Errorf("no function at the cleanup call site %#x: %w", cs.Call.Addr, ErrUnknown)
	}
	ptrs, err := r.allgSnapshot(maxGoroutines)
	if err != nil {
		return err
	}
	entry := fn.Entry + r.bias
	var found []uint64
	var c model.Census
	err = r.walkGs(ptrs, &c, func(h gHead) {
		if h.startPC == entry && !h.dead() {
			found = append(found, h.addr)
		}
	})
	if err != nil {
		return err
	}
	r.cleanupGs = found
	return nil
}
