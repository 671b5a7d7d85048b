package profiles

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
)

// testTarget returns the profiles.Target of a running test target.
func testTarget(t *testing.T, exe string, pid int) Target {
	t.Helper()
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return Target{PID: pid, Procs: procs, Binary: b, Comments: []string{"pid=test"}}
}

// topFlat returns the functions with the most flat value of sample type
// typ (their leaf frame), most first, as `go tool pprof -top` lists them.
func topFlat(t *testing.T, p *profile.Profile, typ string) []string {
	t.Helper()
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == typ {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("no sample type %s in %v", typ, p.SampleType)
	}
	flat := map[string]int64{}
	for _, s := range p.Sample {
		if len(s.Location) == 0 || len(s.Location[0].Line) == 0 {
			continue
		}
		flat[s.Location[0].Line[0].Function.Name] += s.Value[idx]
	}
	names := make([]string, 0, len(flat))
	for n := range flat {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return flat[names[i]] > flat[names[j]] })
	return names
}

// stackKey names a sample's stack by its functions, innermost first.
func stackKey(s *profile.Sample) string {
	var b strings.Builder
	for _, l := range s.Location {
		for _, ln := range l.Line {
			b.WriteString(ln.Function.Name)
			b.WriteByte(';')
		}
	}
	return b.String()
}
