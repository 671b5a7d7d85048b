package agent

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestAgentReconfigure: new filters apply to the next inspection and leave
// the watched process watched; new thresholds reach its worker.
func TestAgentReconfigure(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "reconf-idle")
	copyTo(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}), exe)
	a := runAgent(t, "^reconf-")
	p1 := testutil.StartTarget(t, exe)
	waitFor(t, 2*time.Second, "the first process watched", func() bool { return stateOf(a, p1.Pid) == model.StateWatching })

	d := detect.Defaults()
	d.StallThreshold = 7 * time.Second
	if err := a.Reconfigure(Tunables{Detect: d, IncludeComm: regexp.MustCompile("^reconf-"), ExcludeComm: regexp.MustCompile("idle$")}); err != nil {
		t.Fatal(err)
	}
	if got := a.tunables(); got.MaxProcesses != DefaultMaxProcesses || got.Detect.StallThreshold != 7*time.Second {
		t.Fatalf("tunables after Reconfigure: %+v", got)
	}
	p2 := testutil.StartTarget(t, exe)
	waitFor(t, 2*time.Second, "the second process excluded", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		e := a.procs[p2.Pid]
		return e != nil && e.state == stExcluded
	})
	if st := stateOf(a, p1.Pid); st != model.StateWatching {
		t.Errorf("the process watched before the Reconfigure is %q", st)
	}
	if err := a.Reconfigure(Tunables{MinProcessAge: -time.Second}); err == nil {
		t.Error("a negative MinProcessAge was accepted")
	}
}
