package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestProfileGoroutine: `memsight profile PID --type goroutine -o FILE` on
// goleak writes a profile go tool pprof reads, whose top stack is the
// leaking go statement's goroutines, as many as the target leaked.
func TestProfileGoroutine(t *testing.T) {
	out := filepath.Join(t.TempDir(), "goroutine.pb.gz")
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "goleak", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Stripped}),
		"-rate=20000", "-max=300", "-print=1h")
	tg.WaitLine(t, "STEADY", 30*time.Second)
	stderr, err := runMemsight(t, "profile", fmt.Sprint(tg.Pid), "--type", "goroutine", "-o", out)
	if err != nil {
		t.Fatalf("memsight profile --type goroutine: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "goroutine profile of pid") {
		t.Errorf("stderr: %s", stderr)
	}
	top, err := exec.Command("go", "tool", "pprof", "-traces", out).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, top)
	}
	p := parseProfile(t, out)
	var best int64
	var bestStack string
	for _, s := range p.Sample {
		if s.Value[0] > best {
			best = s.Value[0]
			var fns []string
			for _, l := range s.Location {
				for _, ln := range l.Line {
					fns = append(fns, ln.Function.Name)
				}
			}
			bestStack = strings.Join(fns, " ")
		}
	}
	if best != 300 || !strings.Contains(bestStack, "main.handler.func1") {
		t.Errorf("largest group: %d goroutines in %s; want the 300 leaked in main.handler.func1\n%s", best, bestStack, top)
	}
	if _, err := runMemsight(t, "profile", fmt.Sprint(tg.Pid), "--type", "cpu", "-o", out); exitCodeOf(err) != 2 {
		t.Errorf("--type cpu: exit code %d, want 2 (usage)", exitCodeOf(err))
	}
}
