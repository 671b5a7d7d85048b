package heapprof

import (
	"fmt"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
)

// symbolizer turns recorded stacks into profile Locations, caching them.
type symbolizer struct {
	src    frameSource
	bias   uint64
	p      *profile.Profile
	hide   []string
	locs   map[string]*profile.Location // key: the pcs a location covers
	funcs  map[string]*profile.Function // key: symbol name
	failed map[*profile.Mapping]bool    // a pc of the mapping had no function
}

// locations symbolizes one stack as runtime/pprof's writeHeapProto does:
// without the leading runtime frames, unless nothing else is left.
func (sb *symbolizer) locations(stk []uint64) []*profile.Location {
	if locs := sb.appendLocs(nil, sb.hideRuntime(stk)); len(locs) > 0 {
		return locs
	}
	return sb.appendLocs(nil, stk)
}

// hideRuntime drops the frames before the first one whose function (the
// innermost at the pc itself, like runtime.FuncForPC) is not the runtime's.
// A stack of runtime frames only is kept whole.
func (sb *symbolizer) hideRuntime(stk []uint64) []uint64 {
	for i, pc := range stk {
		fr := sb.src.Frames(pc-sb.bias, false)
		if len(fr) > 0 && hasPrefix(fr[0].Func, sb.hide) {
			continue
		}
		return stk[i:]
	}
	return stk
}

// deck collects the pcs of one physical frame: the runtime records a pc per
// logical frame (the call inside the innermost inlined function, then a
// "fake" pc at each inline mark), which runtime/pprof merges into one
// Location while the frames so far are inlined into the same function.
type deck struct {
	pcs    []uint64
	frames []goexe.Frame
}

func (d *deck) tryAdd(pc uint64, f goexe.Frame) bool {
	if n := len(d.frames); n > 0 {
		last := d.frames[n-1]
		if !last.Inlined || last.Entry == 0 || f.Entry == 0 || last.Entry != f.Entry || last.Func == f.Func {
			return false
		}
	}
	d.pcs = append(d.pcs, pc)
	d.frames = append(d.frames, f)
	return true
}

// appendLocs is runtime/pprof's appendLocsForStack on pcs of the process.
func (sb *symbolizer) appendLocs(locs []*profile.Location, stk []uint64) []*profile.Location {
	var d deck
	flush := func() {
		if len(d.pcs) > 0 {
			locs = append(locs, sb.location(d))
			d = deck{}
		}
	}
	for i, pc := range stk {
		fr := sb.src.Frames(pc-sb.bias, true)
		if len(fr) == 0 {
			flush()
			locs = append(locs, sb.unknown(pc))
			continue
		}
		if fr[0].Func == "runtime.goexit" {
			flush()
			continue
		}
		if !d.tryAdd(pc, fr[0]) {
			flush()
			d.tryAdd(pc, fr[0])
		}
		if i == len(stk)-1 && fr[0].Inlined {
			// The stack was cut inside inlined frames: add the functions
			// they were inlined into (runtime_expandFinalInlineFrame).
			d.frames = append(d.frames, fr[1:]...)
		}
	}
	flush()
	return locs
}

// location returns the Location of a deck, creating it on first use. Its
// address is the call instruction's: the first pc minus one, like
// runtime.Frame.PC.
func (sb *symbolizer) location(d deck) *profile.Location {
	key := pcsKey(d.pcs)
	if l, ok := sb.locs[key]; ok {
		return l
	}
	addr := d.pcs[0]
	if addr-sb.bias > d.frames[0].Entry {
		addr--
	}
	l := &profile.Location{ID: uint64(len(sb.p.Location) + 1), Address: addr, Mapping: MappingAt(sb.p, addr)}
	for _, f := range d.frames {
		l.Line = append(l.Line, profile.Line{Function: sb.function(f), Line: int64(f.Line)})
	}
	sb.locs[key] = l
	sb.p.Location = append(sb.p.Location, l)
	return l
}

// unknown returns an unsymbolized Location for a pc no function holds.
func (sb *symbolizer) unknown(pc uint64) *profile.Location {
	key := "?" + pcsKey([]uint64{pc})
	if l, ok := sb.locs[key]; ok {
		return l
	}
	l := &profile.Location{ID: uint64(len(sb.p.Location) + 1), Address: pc - 1, Mapping: MappingAt(sb.p, pc-1)}
	if l.Mapping != nil {
		sb.failed[l.Mapping] = true
	}
	sb.locs[key] = l
	sb.p.Location = append(sb.p.Location, l)
	return l
}

func (sb *symbolizer) function(f goexe.Frame) *profile.Function {
	if fn, ok := sb.funcs[f.Func]; ok {
		return fn
	}
	fn := &profile.Function{ID: uint64(len(sb.p.Function) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
	sb.funcs[f.Func] = fn
	sb.p.Function = append(sb.p.Function, fn)
	return fn
}

func pcsKey(pcs []uint64) string {
	var b strings.Builder
	for _, pc := range pcs {
		fmt.Fprintf(&b, "%x,", pc)
	}
	return b.String()
}
