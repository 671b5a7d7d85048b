package probe

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// Linux capability numbers (linux/capability.h).
const (
	capPerfmon = 38
	capBPF     = 39
)

const capsHelperEnv = "MEMSIGHT_PROBE_CAPS_HELPER" // path of the finslow copy to trace

// TestCapabilities proves that CAP_BPF and CAP_PERFMON are enough to load,
// attach (to a process of the same user) and count, and that without them
// New fails with ErrPermission. It re-runs this test binary as an
// unprivileged user (nobody) with only those capabilities.
func TestCapabilities(t *testing.T) {
	testutil.RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestCapabilities starts processes as another user: run the BPF tests as root")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // nobody must reach the copies
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src := testutil.BuildTarget(t, "finslow", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Stripped})
	testBin, target := filepath.Join(dir, "probe.test"), filepath.Join(dir, "finslow")
	copyExe(t, self, testBin)
	copyExe(t, src, target)

	for _, tc := range []struct {
		name string
		caps []uintptr
		want string
	}{
		{"CAP_BPF+CAP_PERFMON", []uintptr{capBPF, capPerfmon}, "CAPS-OK"},
		{"none", nil, "EPERM-OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(testBin, "-test.run=^TestCapabilitiesHelper$", "-test.v", "-test.count=1")
			cmd.Env = []string{capsHelperEnv + "=" + target, "MEMSIGHT_EXPECT=" + tc.want}
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
				AmbientCaps: tc.caps,
			}
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("helper as nobody with %v: %v\n%s", tc.caps, err, out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				if strings.Contains(l, tc.want) {
					t.Log(strings.TrimSpace(l))
				}
			}
		})
	}
}

func copyExe(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCapabilitiesHelper is TestCapabilities' child process.
func TestCapabilitiesHelper(t *testing.T) {
	exe := os.Getenv(capsHelperEnv)
	if exe == "" {
		t.Skip("helper of TestCapabilities: runs only in its child process")
	}
	p, err := New(Config{})
	if os.Getenv("MEMSIGHT_EXPECT") == "EPERM-OK" {
		if !errors.Is(err, ErrPermission) {
			t.Fatalf("New without capabilities: %v, want ErrPermission", err)
		}
		t.Logf("EPERM-OK: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("New with CAP_BPF and CAP_PERFMON: %v", err)
	}
	defer p.Close()
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tg := testutil.StartTarget(t, exe, "-n", "20", "-c", "10", "-rounds", "1")
	tg.WaitLine(t, "READY ", 10*time.Second)
	a, err := p.Attach(targetFor(t, b, exe, tg.Pid))
	if err != nil {
		t.Fatalf("attach with CAP_BPF and CAP_PERFMON: %v", err)
	}
	defer a.Close()
	if err := tg.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	gt0 := counts(t, tg.WaitLine(t, "GT0 ", 10*time.Second))
	gt1 := counts(t, tg.WaitLine(t, "DONE ", 20*time.Second))
	c, _ := p.Counters(tg.Pid)
	if want := gt1["executed"] - gt0["executed"]; c.FinalizersFinished != want || c.FinalizersQueued != gt1["queued"]-gt0["queued"] {
		t.Fatalf("counters %+v, runtime %v", c, gt1)
	}
	t.Logf("CAPS-OK uid %d: queued %d finished %d (runtime %d/%d)", os.Getuid(), c.FinalizersQueued, c.FinalizersFinished, gt1["queued"], gt1["executed"])
}
