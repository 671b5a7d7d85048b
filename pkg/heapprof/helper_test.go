package heapprof

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// profiledTarget is a heapleak target paused right after writing its own
// heap profile (the ground truth), so memsight sees the same cycle.
type profiledTarget struct {
	*testutil.Target
	exe   string
	truth *profile.Profile
}

// startProfiled starts heapleak with args, makes it write its heap profile
// and waits until it is paused.
func startProfiled(t *testing.T, v testutil.Variant, args ...string) *profiledTarget {
	t.Helper()
	exe := testutil.BuildTarget(t, "heapleak", v)
	path := filepath.Join(t.TempDir(), "truth.pb.gz")
	tg := testutil.StartTarget(t, exe, append([]string{"-profile", path}, args...)...)
	tg.WaitLine(t, "READY", 20*time.Second)
	if err := tg.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	tg.WaitLine(t, "PROFILED", 20*time.Second)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := profile.Parse(f)
	if err != nil {
		t.Fatalf("parsing the target's own heap profile: %v", err)
	}
	return &profiledTarget{Target: tg, exe: exe, truth: truth}
}

// readProfile reads the target's heap profile the way `memsight profile` does.
func readProfile(t *testing.T, exe string, pid int) (*Snapshot, *profile.Profile, *goexe.Binary) {
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
	maps, err := procs.ExeMappings(pid)
	if err != nil {
		t.Fatal(err)
	}
	var bias uint64
	if b.PIE {
		var ok bool
		if bias, ok = process.LoadBias(maps, b.Segments[0].Vaddr, b.Segments[0].Off); !ok {
			t.Fatalf("no load bias for pid %d", pid)
		}
	}
	mem, err := procmem.Open(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	s, err := Read(b, mem, bias, Options{})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var hm []Mapping
	for _, m := range maps {
		if strings.Contains(m.Perms, "x") {
			hm = append(hm, Mapping{Start: m.Start, Limit: m.End, Offset: m.Offset, File: m.Path, BuildID: BuildID(b)})
		}
	}
	return s, s.Profile(b, bias, hm), b
}
