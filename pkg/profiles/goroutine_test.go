package profiles

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestGoroutineMatchesOwnProfile: the goroutine profile of goleak read from
// its memory counts the goroutines of each stack as the target's own
// pprof.Lookup("goroutine") does, written right before (the target stands
// still: it leaks no more). The only difference allowed is the jitter of
// the goroutine that wrote the profile (goleak's main goroutine, which was
// in pprof then and waits in a select now).
func TestGoroutineMatchesOwnProfile(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "goleak", v)
			path := filepath.Join(t.TempDir(), "goroutine")
			tg := testutil.StartTarget(t, exe, "-rate=20000", "-max=500", "-others=3", "-print=1h", "-profile="+path)
			tg.WaitLine(t, "STEADY", 30*time.Second)
			if err := tg.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			tg.WaitLine(t, "PROFILE", 20*time.Second)
			f, err := os.Open(path + ".0")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, err := profile.Parse(f)
			if err != nil {
				t.Fatalf("parsing the target's own profile: %v", err)
			}
			time.Sleep(100 * time.Millisecond) // main goes back to its select
			g, err := Goroutine(testTarget(t, exe, tg.Pid), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Profile.CheckValid(); err != nil {
				t.Fatalf("profile not valid: %v", err)
			}
			if st := g.Profile.SampleType; len(st) != 1 || st[0].Type != "goroutine" || st[0].Unit != "count" {
				t.Errorf("sample types %v, want goroutine/count", st)
			}
			gs, ws := byStack(g.Profile), byStack(want)
			off, total := 0, 0
			for k, w := range ws {
				total += int(w)
				if d := int(gs[k] - w); d != 0 {
					off += max(d, -d)
					t.Logf("stack %s: %d, the target counts %d", k, gs[k], w)
				}
			}
			for k, n := range gs {
				if _, ok := ws[k]; !ok {
					off += int(n)
					t.Logf("stack %s: %d, the target has none", k, n)
				}
			}
			if off > 2 {
				t.Errorf("%d goroutines counted on other stacks than the target's %d", off, total)
			}
			if total < 500 {
				t.Errorf("the target counts %d goroutines, want more than the 500 leaked", total)
			}
		})
	}
}

func byStack(p *profile.Profile) map[string]int64 {
	out := map[string]int64{}
	for _, s := range p.Sample {
		out[stackKey(s)] += s.Value[0]
	}
	return out
}
