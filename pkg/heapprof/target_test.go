package heapprof

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestReadMatchesWriteHeapProfile reads the heap profile of a paused
// heapleak target and compares it with the profile the target wrote itself
// with pprof.WriteHeapProfile right before: every non-empty sample (stack
// addresses, frames with inlining, values, "bytes" label) must be equal. A
// low MemProfileRate gives many buckets, runtime-internal ones included.
func TestReadMatchesWriteHeapProfile(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg := startProfiled(t, v, "-memprofilerate", "4096")
			s, got, _ := readProfile(t, tg.exe, tg.Pid)
			if s.Moving || s.Truncated {
				t.Errorf("snapshot moving=%v truncated=%v", s.Moving, s.Truncated)
			}
			if err := got.CheckValid(); err != nil {
				t.Fatalf("profile not valid: %v", err)
			}
			want := tg.truth
			if got.Period != want.Period || got.PeriodType.Type != want.PeriodType.Type || got.PeriodType.Unit != want.PeriodType.Unit {
				t.Errorf("period %d %v, want %d %v", got.Period, got.PeriodType, want.Period, want.PeriodType)
			}
			if fmt.Sprint(valueTypes(got)) != fmt.Sprint(valueTypes(want)) {
				t.Errorf("sample types %v, want %v", valueTypes(got), valueTypes(want))
			}
			g, w := samplesByStack(got), samplesByStack(want)
			for k, wv := range w {
				if gv, ok := g[k]; !ok || gv != wv {
					t.Errorf("sample %s: got %v (present %v), want %v", k, gv, ok, wv)
				}
			}
			for k, gv := range g {
				if _, ok := w[k]; !ok {
					t.Errorf("extra sample %s: %v", k, gv)
				}
			}
			if len(want.Mapping) == 0 || len(got.Mapping) != 1 {
				t.Fatalf("mappings: got %d, want 1; target has %d", len(got.Mapping), len(want.Mapping))
			}
			gm, wm := got.Mapping[0], want.Mapping[0]
			if gm.Start != wm.Start || gm.Limit != wm.Limit || gm.Offset != wm.Offset || gm.File != wm.File || gm.BuildID != wm.BuildID {
				t.Errorf("mapping %+v, want %+v", *gm, *wm)
			}
			t.Logf("%d records, %d non-empty samples, cycle %d", len(s.Records), len(g), s.Cycle)
		})
	}
}

func valueTypes(p *profile.Profile) []string {
	var out []string
	for _, st := range p.SampleType {
		out = append(out, st.Type+"/"+st.Unit)
	}
	return out
}

// samplesByStack sums the values of the samples with any non-zero value by
// their stack (addresses and frames) and labels.
func samplesByStack(p *profile.Profile) map[string][4]int64 {
	out := map[string][4]int64{}
	for _, s := range p.Sample {
		if s.Value[0] == 0 && s.Value[1] == 0 && s.Value[2] == 0 && s.Value[3] == 0 {
			continue
		}
		var b strings.Builder
		for _, l := range s.Location {
			fmt.Fprintf(&b, "%#x[", l.Address)
			for _, ln := range l.Line {
				fmt.Fprintf(&b, "%s %s:%d;", ln.Function.Name, ln.Function.Filename, ln.Line)
			}
			b.WriteString("] ")
		}
		var keys []string
		for k, v := range s.NumLabel {
			keys = append(keys, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(keys)
		b.WriteString(strings.Join(keys, ","))
		v := out[b.String()]
		for i := range v {
			v[i] += s.Value[i]
		}
		out[b.String()] = v
	}
	return out
}
