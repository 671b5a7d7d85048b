package goruntime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// ng is one "NG <ng> total=<t> leaked=<n>" line of the goleak target.
type ng struct{ num, total, leaked int }

func parseNG(t *testing.T, s string) ng {
	t.Helper()
	var v ng
	if _, err := fmt.Sscanf(s, "%d total=%d leaked=%d", &v.num, &v.total, &v.leaked); err != nil {
		t.Fatalf("NG line %q: %v", s, err)
	}
	return v
}

// goleakSites returns the lines of goleak's go statements by marker
// ("LEAK", "SITE select", ...), read from its source.
func goleakSites(t *testing.T) map[string]int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "goleak", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		code, m, ok := strings.Cut(l, "// ")
		if ok && strings.Contains(code, "go func") && (m == "LEAK" || strings.HasPrefix(m, "SITE ")) {
			out[m] = i + 1
		}
	}
	if len(out) != 4 {
		t.Fatalf("goleak markers: %v", out)
	}
	return out
}

// stableCensus takes a census between two NG lines printed after line from
// that agree: nothing was created or exited meanwhile.
func stableCensus(t *testing.T, tg *target, r *Runtime, from int, opts CensusOptions) (*model.Census, ng, time.Time) {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		l1, i := tg.waitLine(t, "NG ", from, 10*time.Second)
		at := time.Now()
		c, err := r.Census(opts)
		if err != nil {
			t.Fatal(err)
		}
		l2, j := tg.waitLine(t, "NG ", i+1, 10*time.Second)
		if l1 == l2 {
			return c, parseNG(t, l1), at
		}
		from = j
	}
	t.Fatal("the goroutine count never held still for two NG lines")
	return nil, ng{}, time.Time{}
}

// TestCensus leaks goroutines from one go statement in a real process and
// checks a census against the target's runtime.NumGoroutine,
// /sched/goroutines:goroutines and its own goroutine profile.
func TestCensus(t *testing.T) {
	sites := goleakSites(t)
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			prof := filepath.Join(t.TempDir(), "goroutine")
			tg := startTarget(t, testutil.BuildTarget(t, "goleak", v), "-rate=20000", "-others=3", "-profile="+prof)
			tg.waitLine(t, "READY ", 0, 20*time.Second)
			ready := time.Now()
			r := attach(t, tg)

			// While it leaks: the list grows (and moves) under the walk.
			var during []int
			for from := 0; len(during) < 3; {
				_, i := tg.waitLine(t, "NG ", from, 10*time.Second)
				c, err := r.Census(CensusOptions{})
				if err != nil {
					t.Fatalf("census while leaking: %v", err)
				}
				if c.Unreadable != 0 || c.Total < c.User || c.User < 1 {
					t.Errorf("census while leaking: %d unreadable, total %d, user %d", c.Unreadable, c.Total, c.User)
				}
				during = append(during, c.User)
				from = i + 1
			}
			if err := tg.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			steady, si := tg.waitLine(t, "STEADY leaked=", 0, 10*time.Second)
			var leaked int
			fmt.Sscan(steady, &leaked)

			c, want, at := stableCensus(t, tg, r, si+1, CensusOptions{TopSites: -1, OldestWaiters: 9})
			t.Logf("while leaking: user %v; steady: leaked %d, NumGoroutine %d, total metric %d; census user %d, num_goroutine %d, total %d (system %d, dead %d), allgs %d, changed %d",
				during, leaked, want.num, want.total, c.User, c.NumGoroutine, c.Total, c.System, c.Dead, c.AllGs, c.Changed)
			if d := c.User - want.num; d < -2 || d > 2 {
				t.Errorf("census user %d, runtime.NumGoroutine %d", c.User, want.num)
			}
			if c.NumGoroutine != c.User { // no finalizer or cleanup runs in goleak
				t.Errorf("num_goroutine %d != user %d", c.NumGoroutine, c.User)
			}
			if d := c.Total - want.total; want.total >= 0 && (d < -2 || d > 2) {
				t.Errorf("census total %d, /sched/goroutines:goroutines %d", c.Total, want.total)
			}
			if c.Unreadable != 0 || c.Unknown != nil || c.Counted != c.User || c.Total != c.User+c.System {
				t.Errorf("unreadable %d, unknown %v, counted %d", c.Unreadable, c.Unknown, c.Counted)
			}
			checkSites(t, c, sites, leaked)
			checkSystem(t, r, c)
			checkWaiters(t, c, at.Sub(ready))

			// The target's own goroutine profile, taken while nothing changes.
			if err := tg.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			tg.waitLine(t, "PROFILE ", si, 10*time.Second)
			compareProfile(t, c, prof)

			sc, want2, _ := stableCensus(t, tg, r, si+1, CensusOptions{Stacks: true, MaxStacks: 1 << 20})
			if want2.num != want.num {
				t.Fatalf("NumGoroutine changed from %d to %d", want.num, want2.num)
			}
			compareStacks(t, sc, prof, leaked)
		})
	}
}

// checkSystem: with IncludeSystem the breakdowns cover every live
// goroutine, and the system ones were all created by the runtime.
func checkSystem(t *testing.T, r *Runtime, user *model.Census) {
	t.Helper()
	c, err := r.Census(CensusOptions{IncludeSystem: true, TopSites: -1})
	if err != nil {
		t.Fatal(err)
	}
	byStatus, byRuntime := 0, 0
	for _, n := range c.ByStatus {
		byStatus += n
	}
	for _, s := range c.BySite {
		if strings.HasPrefix(s.Function, "runtime.") {
			byRuntime += s.Count
		}
	}
	if c.Counted != c.Total || byStatus != c.Total || c.User != user.User || byRuntime != c.System || c.System < 4 {
		t.Errorf("with system goroutines: counted %d, by status %d, total %d, user %d (%d before), system %d, created by the runtime %d",
			c.Counted, byStatus, c.Total, c.User, user.User, c.System, byRuntime)
	}
}

func TestClassifyStart(t *testing.T) {
	for name, want := range map[string]startKind{
		"runtime.main": startUser, "runtime.corostart": startUser, "": startUser, "main.worker": startUser,
		"runtime/pprof.profileWriter": startUser, "runtime.forcegchelper": startSystem,
		"runtime.gcBgMarkWorker": startSystem, "runtime.runFinalizers": startFinalizer,
		"runtime.runfinq": startFinalizer, "runtime.runCleanups": startCleanup,
	} {
		if got := classifyStart(name); got != want {
			t.Errorf("classifyStart(%q) = %d, want %d", name, got, want)
		}
	}
}

func checkSites(t *testing.T, c *model.Census, lines map[string]int, leaked int) {
	t.Helper()
	want := []struct {
		marker, fn, reason string
		count              int
	}{
		{"LEAK", "main.handler", "chan receive", leaked},
		{"SITE select", "main.others", "select", 3},
		{"SITE mutex", "main.others", "sync.Mutex.Lock", 3},
		{"SITE sleep", "main.others", "sleep", 3},
	}
	if len(c.BySite) == 0 {
		t.Fatal("no sites")
	}
	if top := c.BySite[0]; top.Function != "main.handler" || top.Line != lines["LEAK"] || top.Count != leaked {
		t.Errorf("top site %+v, want %d at main.handler line %d", top, leaked, lines["LEAK"])
	}
	for _, w := range want {
		var got *model.CensusSite
		for i, s := range c.BySite {
			if s.Function == w.fn && s.Line == lines[w.marker] && strings.HasSuffix(s.File, "goleak/main.go") {
				got = &c.BySite[i]
			}
		}
		if got == nil {
			t.Errorf("%s: no site %s main.go:%d in %+v", w.marker, w.fn, lines[w.marker], c.BySite)
			continue
		}
		if got.Count != w.count || got.WaitReason != w.reason || got.Waiting != w.count || got.Status != "waiting" {
			t.Errorf("%s: %+v, want %d in %q", w.marker, *got, w.count, w.reason)
		}
	}
	if c.ByWaitReason["chan receive"] < leaked || c.ByStatus["waiting"] < leaked+9 {
		t.Errorf("by wait reason %v, by status %v", c.ByWaitReason, c.ByStatus)
	}
}

// checkWaiters: the nine goroutines goleak parks before its two GCs wait
// longest, since before READY.
func checkWaiters(t *testing.T, c *model.Census, sinceReady time.Duration) {
	t.Helper()
	if len(c.OldestWaiters) != 9 {
		t.Fatalf("oldest waiters: %+v", c.OldestWaiters)
	}
	for _, w := range c.OldestWaiters {
		if w.CreatedBy.Function != "main.others" || w.WaitSeconds < sinceReady.Seconds() || w.WaitReason == "" ||
			!strings.HasPrefix(w.StartFunc, "main.others.func") {
			t.Errorf("waiter %+v: want one of main.others' goroutines waiting ≥ %.3fs", w, sinceReady.Seconds())
		}
	}
}

// compareProfile compares the census with the target's goroutine profile:
// debug=1's total and debug=2's goroutines ("created by" and status).
func compareProfile(t *testing.T, c *model.Census, prof string) {
	t.Helper()
	p1, err := os.ReadFile(prof + ".1")
	if err != nil {
		t.Fatal(err)
	}
	var total int
	fmt.Sscanf(string(p1), "goroutine profile: total %d", &total)
	p2, err := os.ReadFile(prof + ".2")
	if err != nil {
		t.Fatal(err)
	}
	dump := parseDump(string(p2))
	if total != c.User || len(dump) != c.User {
		t.Errorf("profile total %d, debug=2 goroutines %d; census user %d", total, len(dump), c.User)
	}
	bySite := map[model.Site]int{}
	for _, g := range dump {
		if g.createdBy != nil {
			bySite[model.Site{Function: g.createdBy.fn, File: g.createdBy.file, Line: g.createdBy.line}]++
		}
	}
	census := map[model.Site]int{}
	for _, s := range c.BySite {
		census[s.Site] = s.Count
	}
	for s, n := range bySite {
		if census[s] != n {
			t.Errorf("created by %s: %d in the profile, %d in the census", s, n, census[s])
		}
		delete(census, s)
	}
	// Left: the main goroutine, for which the runtime prints no "created by".
	for st, n := range census {
		if n != 1 || st.Function != "(main goroutine)" {
			t.Errorf("site %s (%d goroutines) not in the profile", st, n)
		}
	}
	t.Logf("profile: total %d, %d sites agree", total, len(bySite))
}

// profileFrames is what the goroutine profile with debug=1 prints of a
// stack (runtime/pprof.printStackRecord): no runtime.goexit, no leading
// runtime frames, as "function file:line".
func profileFrames(fr []model.CensusFrame) string {
	var out []string
	show := false
	for _, f := range fr {
		name := f.Function
		if name == "runtime.goexit" || !show && (strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/runtime/")) {
			continue
		}
		show = true
		out = append(out, fmt.Sprintf("%s %s:%d", name, f.File, f.Line))
	}
	return strings.Join(out, "; ")
}

// racy reports the stacks of goroutines busy with SIGUSR2 when goleak
// wrote its profile: main, and the os/signal loop that delivered it.
func racy(sig string) bool {
	return strings.Contains(sig, "main.main") || strings.Contains(sig, "os/signal.")
}

// compareStacks compares stack groups with the debug=1 profile's records.
func compareStacks(t *testing.T, c *model.Census, prof string, leaked int) {
	t.Helper()
	p1, err := os.ReadFile(prof + ".1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	n, fr := 0, []string(nil)
	flush := func() {
		if sig := strings.Join(fr, "; "); n > 0 && !racy(sig) {
			want[sig] += n
		}
		n, fr = 0, nil
	}
	for _, l := range strings.Split(string(p1), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" {
			name, _, _ := strings.Cut(f[2], "+0x")
			fr = append(fr, name+" "+f[3])
			continue
		}
		flush()
		fmt.Sscanf(l, "%d @", &n)
	}
	flush()
	got := map[string]int{}
	total := 0
	for _, g := range c.Stacks {
		total += g.Count
		if g.Err != "" {
			if !strings.HasPrefix(g.Err, "running") {
				t.Errorf("%d stacks: %s", g.Count, g.Err)
			}
			continue
		}
		if sig := profileFrames(g.Frames); !racy(sig) {
			got[sig] += g.Count
		}
	}
	if total != c.Counted || c.StacksSkipped != 0 {
		t.Errorf("stack groups hold %d goroutines (%d skipped), census %d", total, c.StacksSkipped, c.Counted)
	}
	for sig, n := range want {
		if got[sig] != n {
			t.Errorf("%d goroutines in the profile, %d in the census: %s", n, got[sig], sig)
		}
	}
	if top := c.Stacks[0]; top.Count != leaked || top.WaitReason != "chan receive" || !strings.Contains(profileFrames(top.Frames), "main.handler.func1 ") {
		t.Errorf("top stack group: %d %q %s", top.Count, top.WaitReason, profileFrames(top.Frames))
	}
	t.Logf("%d stack groups, %d profile records agree", len(c.Stacks), len(want))
}

// TestCensusRunningFinalizer: a finalizer or cleanups blocked in user code
// make their goroutines user goroutines (listed by the goroutine profile)
// that runtime.NumGoroutine still leaves out, as the runtime's own
// goroutineProfileWithLabelsConcurrent counts: NumGoroutine + (finalizer
// running) + gcCleanups.running.
func TestCensusRunningFinalizer(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default) {
		for _, mode := range []string{"chan", "cleanup"} {
			t.Run(v.String()+"/"+mode, func(t *testing.T) {
				t.Parallel()
				tg, r, blocked := startStuck(t, v, mode)
				tg.waitLine(t, "GT ", blocked, 15*time.Second)
				c, err := r.Census(CensusOptions{})
				if err != nil {
					t.Fatal(err)
				}
				fs, err := r.Finalizers()
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if fs.Running.V {
					want++
				}
				if mode == "cleanup" {
					cs, err := r.Cleanups()
					if err != nil {
						t.Fatal(err)
					}
					want += int(cs.Running.V)
				}
				if want == 0 || c.User-c.NumGoroutine != want || c.Unknown != nil {
					t.Errorf("user %d, num_goroutine %d: want %d more (finalizer running %v); unknown %v",
						c.User, c.NumGoroutine, want, fs.Running, c.Unknown)
				}
				t.Logf("user %d, num_goroutine %d, system %d", c.User, c.NumGoroutine, c.System)
			})
		}
	}
}
