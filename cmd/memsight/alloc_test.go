package main

import (
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// allocTarget starts allochot with args and waits until it allocates.
func allocTarget(t *testing.T, v testutil.Variant, args ...string) *testutil.Target {
	t.Helper()
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "allochot", v), args...)
	tg.WaitLine(t, "START", 10*time.Second)
	return tg
}

// stopTarget checks that the target still works after memsight detached,
// and exits 0.
func stopTarget(t *testing.T, a *attachRun, tg *testutil.Target) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGINT)
	a.wait(t, 20*time.Second)
	tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	if err := tg.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
		t.Fatalf("target after detach: exited=%v err=%v", exited, err)
	}
	tg.WaitLine(t, "BYE", time.Second)
}

var slowProbes = []string{"runtime.(*mcache).refill", "runtime.(*mheap).alloc", "runtime.mallocgcLarge"}

// TestAllocProbesTopSite: with --alloc-probes, the top allocation site of a
// target allocating 4 KiB and 64 KiB slices in main.allocHot starts with
// main.allocHot's line (the runtime's frames skipped), within budget.
func TestAllocProbesTopSite(t *testing.T) {
	testutil.RequireBPF(t)
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg := allocTarget(t, v, "-rate", "1000")
			a := startAttach(t, tg.Pid, "--interval", "300ms", "--alloc-probes")
			a.attached(t)
			s := a.waitSample(t, 15*time.Second, "top site in main.allocHot", func(s model.Sample) bool {
				return s.Alloc != nil && len(s.Alloc.TopSites) > 0 && s.Alloc.TopSites[0].Hits > 50 &&
					strings.HasPrefix(s.Alloc.TopSites[0].Stack[0], "main.allocHot ")
			})
			al := s.Alloc
			top := al.TopSites[0]
			t.Logf("top site: %d hits, %d bytes: %v; overhead %.3f %%, %d hits", top.Hits, top.Bytes, top.Stack, al.OverheadRatio*100, al.Hits)
			if !regexp.MustCompile(`^main\.allocHot .*allochot/main\.go:\d+$`).MatchString(top.Stack[0]) {
				t.Errorf("top frame %q is not \"main.allocHot file:line\"", top.Stack[0])
			}
			if len(top.Stack) < 2 || !strings.HasPrefix(top.Stack[1], "main.main.func1 ") {
				t.Errorf("top site stack %v: main.allocHot's caller missing", top.Stack)
			}
			if strings.Join(al.Enabled, ",") != "runtime.(*mcache).refill,runtime.(*mheap).alloc,runtime.mallocgcLarge" {
				t.Errorf("enabled %v, want the three slow paths", al.Enabled)
			}
			if len(al.Detached) != 0 || al.OverheadRatio <= 0 || al.OverheadRatio > 0.01 {
				t.Errorf("detached %v, overhead ratio %v: want none detached, 0 < ratio ≤ 1 %%", al.Detached, al.OverheadRatio)
			}
			if !strings.Contains(a.stderrText(), "memsight: 3 allocation probes") {
				t.Errorf("stderr does not announce the allocation probes:\n%s", a.stderrText())
			}
			stopTarget(t, a, tg)
		})
	}
}

// TestAllocProbesOffByDefault: without --alloc-probes no sample has an
// "alloc" object and nothing mentions allocation probes (pkg/probe's
// TestAllocNotAttachedByDefault checks the kernel side).
func TestAllocProbesOffByDefault(t *testing.T) {
	testutil.RequireBPF(t)
	tg := allocTarget(t, testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "-rate", "1000")
	a := startAttach(t, tg.Pid, "--interval", "200ms", "--duration", "1500ms")
	a.wait(t, 20*time.Second)
	ss := a.all()
	if len(ss) < 5 {
		t.Fatalf("only %d samples", len(ss))
	}
	for _, s := range ss {
		if s.Alloc != nil {
			t.Fatalf("sample at %v has allocation data without --alloc-probes: %+v", s.Time, s.Alloc)
		}
	}
	if strings.Contains(a.stderrText(), "allocation probe") {
		t.Errorf("stderr mentions allocation probes:\n%s", a.stderrText())
	}
}

// TestAllocProbesFlags rejects bad flag values before attaching.
func TestAllocProbesFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--alloc-probes=every"},
		{"--alloc-probes", "--overhead-budget", "0"},
		{"--alloc-probes", "--overhead-budget", "-0.5"},
	} {
		out, code := memsightExit(t, append([]string{"attach", "1"}, args...)...)
		if code != 2 {
			t.Errorf("memsight attach 1 %v: exit %d, want 2 (usage); output %s", args, code, out)
		}
	}
}

var detachedLine = regexp.MustCompile(`memsight: detached (\S+): overhead ([0-9.]+) % > budget 1 %`)

// TestAllocGovernor: with --alloc-probes=all and the default 1 % budget,
// the governor detaches the mallocgc family (one hit per allocation) and
// says so on stderr and in Sample.Alloc.Detached. On a paced target the
// slow paths stay (they cost less than the budget); on a target that
// allocates as fast as it can they go too, each when the estimate was over
// budget. Either way the estimate ends under budget and the target is fine.
func TestAllocGovernor(t *testing.T) {
	testutil.RequireBPF(t)
	for _, c := range []struct {
		name     string
		args     []string
		keepSlow bool
	}{
		{"paced", []string{"-rate", "2000", "-small", "20"}, true},
		{"unlimited", []string{"-small", "20"}, false},
	} {
		for _, v := range testutil.Matrix(testutil.Default) {
			t.Run(c.name+"/"+v.String(), func(t *testing.T) {
				tg := allocTarget(t, v, c.args...)
				before := opsPerSec(t, tg)
				a := startAttach(t, tg.Pid, "--interval", "500ms", "--alloc-probes=all")
				a.attached(t)
				hot := "runtime.mallocgcSmallNoscan" // main.allocSmall's 48-byte objects
				if v.Toolchain == testutil.GoNext {
					hot = "runtime.mallocgcSmallNoScanSC5"
				}
				a.waitSample(t, 15*time.Second, hot+" detached", func(s model.Sample) bool {
					return s.Alloc != nil && s.Alloc.Detached[hot] != ""
				})
				// Let it settle: two samples in a row under budget.
				under := 0
				s := a.waitSample(t, 15*time.Second, "overhead under budget", func(s model.Sample) bool {
					if s.Alloc.OverheadRatio <= 0.01 {
						under++
					} else {
						under = 0
					}
					return under == 2
				})
				after := opsPerSec(t, tg)
				al := s.Alloc
				t.Logf("enabled %d, detached %v; overhead %.3f %%; %d hits; target %.0f ops/s before, %.0f after (ratio %.2f)",
					len(al.Enabled), al.Detached, al.OverheadRatio*100, al.Hits, before, after, after/before)
				// Every probe the sample lists as detached has its line on
				// stderr with the same reason; the governor (every 200 ms) may
				// have detached more since the sample (then the next sample
				// lists them).
				lines := detachedLine.FindAllStringSubmatch(a.stderrText(), -1)
				said := map[string]string{}
				for _, l := range lines {
					pct, _ := strconv.ParseFloat(l[2], 64)
					if pct <= 1 {
						t.Errorf("detach line %q: overhead not over budget", l[0])
					}
					said[l[1]] = fmt.Sprintf("overhead %s %% > budget 1 %%", l[2])
				}
				for p, why := range al.Detached {
					if said[p] != why {
						t.Errorf("detached %s (%q) without that line on stderr:\n%s", p, why, a.stderrText())
					}
				}
				if len(said) < len(al.Detached) {
					t.Errorf("%d detach lines on stderr, %d detached probes", len(said), len(al.Detached))
				}
				enabled := strings.Join(al.Enabled, ",")
				for _, p := range slowProbes {
					_, gone := al.Detached[p]
					if c.keepSlow && (gone || !strings.Contains(enabled, p)) {
						t.Errorf("slow path %s detached on a paced target (%s)", p, al.Detached[p])
					}
				}
				if !c.keepSlow && len(al.Detached) <= 3 {
					t.Errorf("unlimited target: only %v detached", al.Detached)
				}
				if len(al.TopSites) == 0 || !strings.HasPrefix(al.TopSites[0].Stack[0], "main.alloc") {
					t.Errorf("top sites %v", al.TopSites)
				}
				stopTarget(t, a, tg)
			})
		}
	}
}

// opsPerSec is the target's iterations per second over the next second.
func opsPerSec(t *testing.T, tg *testutil.Target) float64 {
	t.Helper()
	iters := func() float64 {
		l := tg.WaitNextLine(t, "COUNT ", 5*time.Second)
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "iters="); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n
			}
		}
		t.Fatalf("no iters in %q", l)
		return 0
	}
	start, i0 := time.Now(), iters()
	for range 4 {
		tg.WaitNextLine(t, "COUNT ", 5*time.Second)
	}
	i1 := iters()
	return (i1 - i0) / time.Since(start).Seconds()
}

// memsightExit runs memsight and returns its stderr and exit code.
func memsightExit(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(memsightBin, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running memsight %v: %v", args, err)
	}
	return string(out), 0
}
