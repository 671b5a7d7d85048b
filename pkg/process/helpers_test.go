package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// buildSelfaddr builds testdata/targets/selfaddr (as a PIE when pie is set)
// into a temporary directory and returns the executable's path.
func buildSelfaddr(t *testing.T, pie bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "selfaddr")
	args := []string{"build", "-o", out}
	if pie {
		args = append(args, "-buildmode=pie")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = filepath.Join("testdata", "targets", "selfaddr")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building selfaddr (pie=%v): %v\n%s", pie, err, b)
	}
	return out
}

// selfaddr is a running testdata/targets/selfaddr.
type selfaddr struct {
	*testutil.Target
	main  uint64 // run-time address of main.main, as the target printed it
	alloc uint64 // bytes it allocated and touched
	files int    // files it holds open
}

// startSelfaddr starts exe with args and waits until it is ready.
func startSelfaddr(t *testing.T, exe string, args ...string) selfaddr {
	t.Helper()
	tg := testutil.StartTarget(t, exe, args...)
	s := selfaddr{Target: tg}
	s.main = parseUint(t, tg.WaitLine(t, "MAIN ", 10*time.Second), 16)
	s.alloc = parseUint(t, tg.WaitLine(t, "ALLOC ", 10*time.Second), 10)
	s.files = int(parseUint(t, tg.WaitLine(t, "FILES ", 10*time.Second), 10))
	tg.WaitLine(t, "READY ", 10*time.Second)
	return s
}

func parseUint(t *testing.T, s string, base int) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimSpace(s), base, 64)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return v
}

// newReader returns a Reader for the real /proc.
func newReader(t *testing.T) *Reader {
	t.Helper()
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("running true: %v", err)
	}
	return cmd.Process.Pid
}

// needPrivilege fails the test with reason, unless MEMSIGHT_SKIP_BPF=1 asks
// to skip privilege-dependent tests (checked in testutil.RequireBPF only).
func needPrivilege(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	testutil.RequireBPF(t)
	t.Fatalf("this test needs root and a writable cgroup v2 hierarchy (set MEMSIGHT_SKIP_BPF=1 to skip privilege-dependent tests): "+format, args...)
}
