package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestProfile runs `memsight profile PID -o FILE` on heapleak right after
// the target wrote its own heap profile with pprof.WriteHeapProfile (after
// runtime.GC(), paused with the GC off, so both see the same published
// cycle): go tool pprof opens the file and shows main.leakyCache on top of
// inuse_space, and the totals and the leak's in-use bytes are the target's.
func TestProfile(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			truthPath, outPath := filepath.Join(dir, "truth.pb.gz"), filepath.Join(dir, "heap.pb.gz")
			tg := testutil.StartTarget(t, testutil.BuildTarget(t, "heapleak", v), "-profile", truthPath)
			tg.WaitLine(t, "READY", 20*time.Second)
			if err := tg.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			tg.WaitLine(t, "PROFILED", 20*time.Second)

			stderr, err := runMemsight(t, "profile", fmt.Sprint(tg.Pid), "-o", outPath)
			if err != nil {
				t.Fatalf("memsight profile: %v\n%s", err, stderr)
			}
			if !strings.Contains(stderr, "heap profile of pid") {
				t.Errorf("stderr: %s", stderr)
			}
			top, err := exec.Command("go", "tool", "pprof", "-top", "-sample_index=inuse_space", outPath).CombinedOutput()
			if err != nil {
				t.Fatalf("go tool pprof: %v\n%s", err, top)
			}
			if fn := topFunction(string(top)); fn != "main.leakyCache" {
				t.Errorf("top in-use function %q, want main.leakyCache:\n%s", fn, top)
			}

			got, want := parseProfile(t, outPath), parseProfile(t, truthPath)
			for _, idx := range []int{1, 3} { // alloc_space, inuse_space
				g, w := total(got, idx), total(want, idx)
				if diff := float64(g-w) / float64(w); diff > 0.01 || diff < -0.01 {
					t.Errorf("%s total %d, target's %d (%+.2f%%)", want.SampleType[idx].Type, g, w, 100*diff)
				} else {
					t.Logf("%s total %d, target's %d", want.SampleType[idx].Type, g, w)
				}
			}
			g, w := flatBy(got, 3, "main.leakyCache"), flatBy(want, 3, "main.leakyCache")
			if g != w || g < 8<<20 {
				t.Errorf("main.leakyCache in use %d bytes, target's %d (leaked 16 MiB)", g, w)
			}
		})
	}
}

// TestProfileNotRecorded: a process without runtime/pprof has no heap
// profile, which memsight says in one line, exiting 1.
func TestProfileNotRecorded(t *testing.T) {
	for _, v := range testutil.Matrix(testutil.Default) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg := testutil.StartTarget(t, testutil.BuildTarget(t, "idle", v))
			tg.WaitLine(t, "READY", 20*time.Second)
			out := filepath.Join(t.TempDir(), "heap.pb.gz")
			stderr, err := runMemsight(t, "profile", fmt.Sprint(tg.Pid), "-o", out)
			want := fmt.Sprintf("memsight: pid %d does not record a heap profile (MemProfileRate=0: runtime/pprof is not linked in)\n", tg.Pid)
			if code := exitCodeOf(err); code != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written anyway", out)
			}
		})
	}
}

func TestProfileUsage(t *testing.T) {
	for _, args := range [][]string{{"profile", "1"}, {"profile", "x", "-o", "f"}} {
		if _, err := runMemsight(t, args...); exitCodeOf(err) != 2 {
			t.Errorf("%v: %v, want exit 2", args, err)
		}
	}
}

func runMemsight(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(memsightBin, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// topFunction returns the function of the first row of `pprof -top`.
func topFunction(top string) string {
	lines := strings.Split(top, "\n")
	for i, l := range lines {
		if strings.Contains(l, "flat%") && i+1 < len(lines) {
			f := strings.Fields(lines[i+1])
			if len(f) > 0 {
				return f[len(f)-1]
			}
		}
	}
	return ""
}

func parseProfile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return p
}

func total(p *profile.Profile, idx int) int64 {
	var n int64
	for _, s := range p.Sample {
		n += s.Value[idx]
	}
	return n
}

// flatBy sums value idx of the samples whose innermost frame is fn.
func flatBy(p *profile.Profile, idx int, fn string) int64 {
	var n int64
	for _, s := range p.Sample {
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function.Name == fn {
			n += s.Value[idx]
		}
	}
	return n
}
