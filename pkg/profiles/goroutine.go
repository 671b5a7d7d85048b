package profiles

import (
	"strconv"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/model"
)

// GoroutineProfile is a goroutine profile read from a process.
type GoroutineProfile struct {
	// Profile counts the goroutines by stack, as runtime/pprof's
	// "goroutine" profile (debug=0) does: sample type goroutine/count, one
	// sample per distinct stack, the user goroutines only.
	Profile *profile.Profile
	// Census is the census it was made from (Stacks filled).
	Census *model.Census
	// ReadBytes is what was read from the target.
	ReadBytes int64
}

// Goroutine reads the goroutines of t and counts them by stack. A stack
// that cannot be read from memory (a goroutine running on a CPU: its
// registers are not in memory) is a sample with the partial stack, labelled
// "stack_error" with the reason; goroutines beyond o.MaxStacks are one
// sample "(stacks not read)". Errors wrap goruntime's, procmem.ErrBudget
// when the census needs more than o.MaxBytes, or procmem's.
func Goroutine(t Target, o Options) (*GoroutineProfile, error) {
	r, err := t.open(o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rt, err := r.t.NewRuntime(r.mem)
	if err != nil {
		return nil, err
	}
	c, err := rt.Census(goruntime.CensusOptions{
		MaxGoroutines: o.MaxGoroutines, Stacks: true, MaxStacks: o.MaxStacks, OldestWaiters: -1, TopSites: 1,
	})
	if err != nil {
		return nil, r.t.Err("reading the goroutines", err)
	}
	now := time.Now()
	b := newGoroutineBuilder(t.Binary, r.t.Bias, r.maps)
	for _, g := range c.Stacks {
		b.add(g)
	}
	if c.StacksSkipped > 0 {
		b.p.Sample = append(b.p.Sample, &profile.Sample{
			Value:    []int64{int64(c.StacksSkipped)},
			Location: []*profile.Location{b.pseudo("(stacks not read: over the limit of stacks per profile)")},
		})
	}
	b.p.TimeNanos = now.UnixNano()
	b.p.Comments = append(b.p.Comments, t.Comments...)
	b.p.Comments = append(b.p.Comments, "goroutines="+strconv.Itoa(c.Counted))
	return &GoroutineProfile{Profile: b.p, Census: c, ReadBytes: r.mem.Used()}, nil
}

// goroutineBuilder turns census stack groups into a profile.
type goroutineBuilder struct {
	b     *goexe.Binary
	bias  uint64
	p     *profile.Profile
	locs  map[string]*profile.Location
	funcs map[string]*profile.Function
}

func newGoroutineBuilder(b *goexe.Binary, bias uint64, maps []mapping) *goroutineBuilder {
	gb := &goroutineBuilder{
		b: b, bias: bias, locs: map[string]*profile.Location{}, funcs: map[string]*profile.Function{},
		p: &profile.Profile{
			SampleType: []*profile.ValueType{{Type: "goroutine", Unit: "count"}},
			PeriodType: &profile.ValueType{Type: "goroutine", Unit: "count"},
			Period:     1,
		},
	}
	gb.p.Mapping = heapprof.ProfileMappings(maps)
	for _, m := range gb.p.Mapping {
		m.HasFunctions, m.HasFilenames, m.HasLineNumbers, m.HasInlineFrames = true, true, true, true
	}
	return gb
}

// add adds one group: each run of frames sharing a pc (a physical frame
// and the calls inlined into it) is one Location, as runtime/pprof makes
// them; runtime.goexit is left out, as runtime/pprof does.
func (gb *goroutineBuilder) add(g model.StackGroup) {
	s := &profile.Sample{Value: []int64{int64(g.Count)}}
	fr := g.Frames
	for i := 0; i < len(fr); {
		j := i + 1
		for j < len(fr) && fr[j].PC == fr[i].PC {
			j++
		}
		if l := gb.location(fr[i:j]); l != nil {
			s.Location = append(s.Location, l)
		}
		i = j
	}
	if g.Err != "" {
		s.Label = map[string][]string{"stack_error": {g.Err}}
		if len(s.Location) == 0 {
			s.Location = append(s.Location, gb.pseudo("(stack not readable)"))
		}
	}
	gb.p.Sample = append(gb.p.Sample, s)
}

// location returns the Location of one physical frame. Its function names
// are the symbol names (as runtime/pprof writes them), looked up again in
// the executable (the census keeps the printed form); its address is the
// call instruction's (the return address minus one).
func (gb *goroutineBuilder) location(run []model.CensusFrame) *profile.Location {
	pc := run[0].PC
	key := strconv.FormatUint(pc, 16)
	if l, ok := gb.locs[key]; ok {
		return l
	}
	frames := gb.b.Frames(pc-gb.bias, true)
	if len(frames) != len(run) {
		if alt := gb.b.Frames(pc-gb.bias, false); len(alt) == len(run) {
			frames = alt
		}
	}
	if len(frames) > 0 && frames[len(frames)-1].Func == "runtime.goexit" {
		return nil
	}
	addr := pc
	if run[0].Offset > 0 {
		addr--
	}
	l := &profile.Location{ID: uint64(len(gb.p.Location) + 1), Address: addr, Mapping: heapprof.MappingAt(gb.p, addr)}
	if len(frames) == len(run) {
		for k, f := range frames {
			l.Line = append(l.Line, profile.Line{Function: gb.function(f.Func, run[k].File), Line: int64(run[k].Line)})
		}
	} else {
		for _, f := range run {
			l.Line = append(l.Line, profile.Line{Function: gb.function(f.Function, f.File), Line: int64(f.Line)})
		}
	}
	gb.locs[key] = l
	gb.p.Location = append(gb.p.Location, l)
	return l
}

// pseudo is a Location standing for what has no stack.
func (gb *goroutineBuilder) pseudo(name string) *profile.Location {
	if l, ok := gb.locs[name]; ok {
		return l
	}
	l := &profile.Location{ID: uint64(len(gb.p.Location) + 1), Line: []profile.Line{{Function: gb.function(name, "")}}}
	gb.locs[name] = l
	gb.p.Location = append(gb.p.Location, l)
	return l
}

func (gb *goroutineBuilder) function(name, file string) *profile.Function {
	key := name + "\x00" + file
	if fn, ok := gb.funcs[key]; ok {
		return fn
	}
	fn := &profile.Function{ID: uint64(len(gb.p.Function) + 1), Name: name, SystemName: name, Filename: file}
	gb.funcs[key] = fn
	gb.p.Function = append(gb.p.Function, fn)
	return fn
}

type mapping = heapprof.Mapping
