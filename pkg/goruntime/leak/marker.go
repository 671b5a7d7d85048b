package leak

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/procmem"
)

// Errors the mark returns; every error wraps one of them, a procmem error or
// the context's.
var (
	// ErrUnsupported means the binary lacks an address or offset the mark
	// needs (the error names it): no verdict is possible.
	ErrUnsupported = errors.New("goroutine leak verdict unsupported for this binary")
	// ErrTooLarge means the mark would exceed its memory budget.
	ErrTooLarge = errors.New("heap too large for the mark's memory budget")
	// ErrChanged means the target's runtime state changed (or is corrupt)
	// in a way the mark cannot follow: try again.
	ErrChanged = errors.New("runtime state changed while read")
)

// Defaults of Config.
const (
	DefaultReadRate  = 256 << 20 // bytes per second
	DefaultMaxMemory = 256 << 20
	DefaultGap       = 500 * time.Millisecond
)

// Config configures a Marker.
type Config struct {
	// ReadRate bounds the bytes read from the target per second (0:
	// DefaultReadRate, negative: unlimited).
	ReadRate int64
	// MaxMemory bounds the mark's own memory: span tables, allocation and
	// mark bits, the work list (0: DefaultMaxMemory). A heap that needs
	// more is not marked (ErrTooLarge).
	MaxMemory int64
	// Gap is the pause between the two marks of a Scan (0: DefaultGap).
	Gap    time.Duration
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ReadRate == 0 {
		c.ReadRate = DefaultReadRate
	}
	if c.ReadRate < 0 {
		c.ReadRate = 0
	}
	if c.MaxMemory <= 0 {
		c.MaxMemory = DefaultMaxMemory
	}
	if c.Gap <= 0 {
		c.Gap = DefaultGap
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Marker runs the leak verdict on one process. It keeps per-binary state
// (offsets, a cache of stack maps) between scans; a scan's own state (mark
// bits, span tables) is dropped when it returns. Not safe for concurrent
// use.
type Marker struct {
	cfg  Config
	b    *goexe.Binary
	rt   *goruntime.Runtime
	mem  procmem.Reader
	bias uint64
	L    *layout
	// Runtime addresses of the globals.
	allgs, allp, mheap, allfin, gcCleanups, moduledata uint64
	waitReasons                                        [256]string
	maps                                               map[uint64]*goexe.StackMaps

	// Per mark.
	r     *reader
	stats stackStats
	// stackScratch and gScratch are reused by every stack read (one at a
	// time) and the re-read of its g.
	stackScratch, gScratch []byte
}

// stackStats counts what the stack scans did conservatively.
type stackStats struct {
	consStacks, consFrames, consWalks int
}

// New prepares the verdict for a process running b, read through mem;
// bias is its load bias, rt its runtime reader (for stack walks and
// symbolization). It fails with ErrUnsupported when the binary lacks what
// the mark needs.
func New(b *goexe.Binary, rt *goruntime.Runtime, mem procmem.Reader, bias uint64, cfg Config) (*Marker, error) {
	if b == nil || rt == nil || mem == nil {
		return nil, errors.New("leak: nil binary, runtime or memory reader")
	}
	if b.Arch != goexe.AMD64 && b.Arch != goexe.ARM64 {
		return nil, fmt.Errorf("architecture %q: %w", b.Arch, ErrUnsupported)
	}
	L, err := resolveLayout(b)
	if err != nil {
		return nil, err
	}
	e := &Marker{cfg: cfg.withDefaults(), b: b, rt: rt, mem: mem, bias: bias, L: L, maps: map[uint64]*goexe.StackMaps{}}
	g := b.Globals
	for _, x := range []struct {
		dst  *uint64
		g    goexe.Global
		name string
		need bool
	}{
		{&e.allgs, g.AllGs, "allgs", true}, {&e.allp, g.AllP, "allp", true}, {&e.mheap, g.MHeap, "mheap_", true},
		{&e.allfin, g.AllFin, "allfin", true}, {&e.gcCleanups, g.GCCleanups, "gcCleanups", L.hasCleanups},
	} {
		if !x.need {
			continue
		}
		if !x.g.Known() {
			return nil, fmt.Errorf("runtime.%s: %s: %w", x.name, x.g.Err, ErrUnsupported)
		}
		*x.dst = x.g.Addr + bias
	}
	md, ok := b.Moduledata()
	if !ok {
		return nil, fmt.Errorf("runtime.firstmoduledata not found: %w", ErrUnsupported)
	}
	e.moduledata = md + bias
	known := 0
	for i := range e.waitReasons {
		if name, ok := b.Layout.WaitReason(int64(i)); ok {
			e.waitReasons[i] = name
			if _, c := waitClasses[name]; c {
				known++
			}
		}
	}
	if known == 0 {
		return nil, fmt.Errorf("wait reasons of %s unknown: %w", b.GoVersion, ErrUnsupported)
	}
	return e, nil
}

// markResult is one mark: the goroutines read, and the marker holding the
// mark bits (for the retained-bytes estimate).
type markResult struct {
	gs      []*gState
	leaked  []*gState
	m       *marker
	stats   stackStats
	r       *reader // its reads, and those made for it after it ended
	elapsed time.Duration
}
