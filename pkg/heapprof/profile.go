package heapprof

import (
	"strings"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
)

// Mapping is one executable mapping of the process, as in /proc/PID/maps.
type Mapping struct {
	Start, Limit, Offset uint64
	File                 string
	BuildID              string // see BuildID
}

// ProfileMappings are maps as a profile's Mappings (IDs from 1).
func ProfileMappings(maps []Mapping) []*profile.Mapping {
	var out []*profile.Mapping
	for i, m := range maps {
		out = append(out, &profile.Mapping{
			ID: uint64(i + 1), Start: m.Start, Limit: m.Limit, Offset: m.Offset, File: m.File, BuildID: m.BuildID,
		})
	}
	return out
}

// MappingAt is the mapping of p that holds addr, nil if none does.
func MappingAt(p *profile.Profile, addr uint64) *profile.Mapping {
	for _, m := range p.Mapping {
		if m.Start <= addr && addr < m.Limit {
			return m
		}
	}
	return nil
}

// frameSource symbolizes link-time pcs; *goexe.Binary is one.
type frameSource interface {
	Frames(pc uint64, ret bool) []goexe.Frame
}

// Profile converts the snapshot to the heap profile pprof.WriteHeapProfile
// would have written: sample types alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes, period MemProfileRate, one sample
// per record with the "bytes" label. b is the process's executable and bias
// its load bias; maps are its executable mappings (the main executable's
// with its build ID), which locations are attributed to.
//
// Stacks are symbolized like runtime/pprof does it: leading runtime frames
// are hidden, each physical frame becomes one Location whose Lines are its
// inlined calls (innermost first), addresses are those of the call
// instructions in the process, and function names are the symbol names.
// Function start lines are not known (0).
func (s *Snapshot) Profile(b *goexe.Binary, bias uint64, maps []Mapping) *profile.Profile {
	return s.profile(b, bias, maps)
}

func (s *Snapshot) profile(src frameSource, bias uint64, maps []Mapping) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"},
			{Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		PeriodType: &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:     s.Rate,
		TimeNanos:  s.Time.UnixNano(),
	}
	sb := &symbolizer{
		src: src, bias: bias, p: p, hide: hidePrefixes(s.version),
		locs: map[string]*profile.Location{}, funcs: map[string]*profile.Function{},
		failed: map[*profile.Mapping]bool{},
	}
	p.Mapping = ProfileMappings(maps)
	for _, r := range s.Records {
		v, bytes, label := s.sampleValues(r)
		smp := &profile.Sample{Value: v[:], Location: sb.locations(r.Stack)}
		if label {
			smp.NumLabel = map[string][]int64{"bytes": {bytes}}
		}
		p.Sample = append(p.Sample, smp)
	}
	for _, m := range p.Mapping {
		ok := !sb.failed[m]
		m.HasFunctions, m.HasFilenames, m.HasLineNumbers, m.HasInlineFrames = ok, ok, ok, ok
	}
	return p
}

// hidePrefixes are the function name prefixes of the frames runtime/pprof
// drops from the top of a heap profile stack.
func hidePrefixes(v goexe.Version) []string {
	if v.AtLeast(1, 24) {
		return []string{"runtime.", "internal/runtime/"}
	}
	return []string{"runtime."}
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
