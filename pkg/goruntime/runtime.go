package goruntime

import (
	"errors"
	"fmt"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
)

// ErrUnknown means a value could not be read because an address or offset
// it needs is unknown for this binary.
var ErrUnknown = errors.New("runtime address or layout unknown")

// Runtime reads the Go runtime state of one process.
type Runtime struct {
	b    *goexe.Binary
	mem  procmem.Reader
	bias uint64
	l    goexe.Layout
	g    gLayout
	// cleanupGs are the cleanup goroutines found so far (CleanupRunners).
	cleanupGs []uint64
	// finSlot and cleanupSlot are where in the runner's frame the block
	// pointer was found last (offset + 1; 0: not yet): tried first.
	finSlot, cleanupSlot int
	walk                 walkBuffers
	// fingG is the finalizer goroutine once validated: it never changes.
	fingG uint64
	gcl   *gcLayoutResult
	// allp caches runtime.allp's header and elements (see allP).
	allpHdr [16]byte
	allpPs  []uint64
	// symCache caches symbolized pcs (see symbolize).
	symCache map[frameKey][]goexe.Frame
}

// frameKey is a pc and whether it is a return address.
type frameKey struct {
	pc  uint64
	ret bool
}

// maxFrameCache bounds the symbolization cache; past it, the cache is
// dropped and refilled.
const maxFrameCache = 1 << 14

// symbolize symbolizes a link-time pc like Binary.Frames, from a cache:
// the same few hundred pcs (goroutine entry points, go statements, the
// runner loops) come up in every sample. The frames returned are shared:
// do not modify them.
func (r *Runtime) symbolize(pc uint64, ret bool) []goexe.Frame {
	k := frameKey{pc, ret}
	if fr, ok := r.symCache[k]; ok {
		return fr
	}
	if r.symCache == nil || len(r.symCache) >= maxFrameCache {
		r.symCache = map[frameKey][]goexe.Frame{}
	}
	fr := r.b.Frames(pc, ret)
	r.symCache[k] = fr
	return fr
}

// New prepares reading the runtime of a process running binary b through
// mem. bias is the load bias of a PIE process (0 for ET_EXEC): runtime
// address = link-time address + bias. It fails only when goroutines cannot
// be decoded at all (an unsupported architecture or no g layout).
func New(b *goexe.Binary, mem procmem.Reader, bias uint64) (*Runtime, error) {
	if b == nil || mem == nil {
		return nil, errors.New("goruntime: nil binary or memory reader")
	}
	if b.Arch != goexe.AMD64 && b.Arch != goexe.ARM64 {
		return nil, fmt.Errorf("architecture %q: %w", b.Arch, goexe.ErrUnsupportedGo)
	}
	r := &Runtime{b: b, mem: mem, bias: bias, l: b.Layout}
	g, err := newGLayout(b.Layout)
	if err != nil {
		return nil, fmt.Errorf("%s (layout %s): %w", b.GoVersion, b.Layout.Source, err)
	}
	r.g = g
	return r, nil
}

// Binary returns the binary the runtime was created with.
func (r *Runtime) Binary() *goexe.Binary { return r.b }

// addr returns the runtime address of a global, or an error saying why it
// is unknown.
func (r *Runtime) addr(g goexe.Global, name string) (uint64, error) {
	if !g.Known() {
		return 0, fmt.Errorf("runtime.%s: %s: %w", name, g.Err, ErrUnknown)
	}
	return g.Addr + r.bias, nil
}

// off returns a layout offset or an error.
func (r *Runtime) off(field string) (uint64, error) {
	o, ok := r.l.Off(field)
	if !ok {
		return 0, fmt.Errorf("offset of %s unknown for %s: %w", field, r.b.GoVersion, ErrUnknown)
	}
	return uint64(o), nil
}

// link converts a runtime address of the target to a link-time address.
func (r *Runtime) link(pc uint64) uint64 { return pc - r.bias }
