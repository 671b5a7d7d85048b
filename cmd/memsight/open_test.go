package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/testutil"
)

// startHeapleak starts heapleak (a Go process with a heap profile) and
// waits until it is ready.
func startHeapleak(t *testing.T) *testutil.Target {
	t.Helper()
	v := testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE}
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "heapleak", v), "-profile", filepath.Join(t.TempDir(), "truth.pb.gz"))
	tg.WaitLine(t, "READY", 20*time.Second)
	return tg
}

// openCommands are the commands that open one process, with their
// arguments for pid and the directory to write to.
func openCommands(pid int, dir string) map[string][]string {
	p := fmt.Sprint(pid)
	return map[string][]string{
		"attach":            {"attach", p, "--duration", "1500ms", "--interval", "500ms", "-o", "json"},
		"goroutines":        {"goroutines", p, "-o", "json"},
		"profile":           {"profile", p, "-o", filepath.Join(dir, "heap.pb.gz")},
		"profile goroutine": {"profile", p, "--type", "goroutine", "-o", filepath.Join(dir, "goroutine.pb.gz")},
	}
}

// TestProcfsFlag runs attach, goroutines and profile with --path.procfs at
// a second procfs mount, in a mount namespace where /proc is an empty
// tmpfs: they work, so everything they read of the process went through
// the flag's procfs. A --path.procfs that is no procfs is one line naming
// the flag.
func TestProcfsFlag(t *testing.T) {
	alt := t.TempDir()
	if err := unix.Mount("proc", alt, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mounting a second procfs at %s (the tests run as root): %v", alt, err)
	}
	t.Cleanup(func() { unix.Unmount(alt, unix.MNT_DETACH) })
	tg := startHeapleak(t)
	dir := t.TempDir()
	for name, args := range openCommands(tg.Pid, dir) {
		// Mount a tmpfs over /proc in a private mount namespace, then run
		// memsight there (unshare(1) makes the namespace's mounts private).
		script := `mount -t tmpfs none /proc && exec "$@"`
		cmd := exec.Command("unshare", append([]string{"--mount", "sh", "-c", script, "sh", memsightBin, "--path.procfs", alt}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s with --path.procfs %s and no /proc: %v\n%s", name, alt, err, stderr.String())
			continue
		}
		switch name {
		case "attach":
			if n := strings.Count(string(out), "\n"); n < 2 || !strings.Contains(string(out), `"goroutines"`) {
				t.Errorf("attach: %d samples:\n%s\n%s", n, out, stderr.String())
			}
		case "goroutines":
			if !strings.Contains(string(out), `"num_goroutine"`) {
				t.Errorf("goroutines: %s", out)
			}
		default:
			if !strings.Contains(stderr.String(), "profile of pid") {
				t.Errorf("%s: %s", name, stderr.String())
			}
		}
	}

	for name, args := range openCommands(tg.Pid, dir) {
		out, err := exec.Command(memsightBin, append([]string{"--path.procfs", dir}, args...)...).CombinedOutput()
		want := fmt.Sprintf("memsight: --path.procfs: no procfs at %s: open %s/stat: no such file or directory\n", dir, dir)
		if exitCodeOf(err) != 1 || string(out) != want {
			t.Errorf("%s with --path.procfs %s (no procfs): exit %d, output %q; want 1, %q", name, dir, exitCodeOf(err), out, want)
		}
	}
}

// TestOpenPermission: a refused access names what refuses it, for each
// command: memsight as root of a user namespace of its own (its
// capabilities do not reach the target's), as nobody without
// CAP_SYS_PTRACE, and as root without CAP_SYS_PTRACE (a target holding it).
func TestOpenPermission(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is needed to run memsight without CAP_SYS_PTRACE")
	}
	tg := startHeapleak(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		run  func(args []string) *exec.Cmd
		want string
	}{
		{"user namespace", func(args []string) *exec.Cmd {
			cmd := exec.Command(memsightBin, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}}
			return cmd
		}, fmt.Sprintf("permission denied: memsight runs in a user namespace of its own (user:[%%d]), not the host's, and pid %d outside it", tg.Pid)},
		{"nobody", func(args []string) *exec.Cmd {
			cmd := exec.Command(memsightBin, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			return cmd
		}, fmt.Sprintf("permission denied: pid %d runs as uid 0 and memsight as uid 65534 without CAP_SYS_PTRACE: run memsight as root or as the process's user, or grant it CAP_SYS_PTRACE", tg.Pid)},
		{"root without CAP_SYS_PTRACE", func(args []string) *exec.Cmd {
			return exec.Command(setpriv, append([]string{"--bounding-set", "-sys_ptrace", memsightBin}, args...)...)
		}, fmt.Sprintf("permission denied: pid %d holds capabilities memsight lacks (CAP_SYS_PTRACE): grant memsight CAP_SYS_PTRACE", tg.Pid)},
	} {
		for name, args := range openCommands(tg.Pid, dir) {
			out, err := c.run(args).CombinedOutput()
			line := strings.TrimSuffix(string(out), "\n")
			prefix := fmt.Sprintf("memsight: opening the executable of pid %d (heapleak-go1.2", tg.Pid)
			var ns int
			want := c.want
			if strings.Contains(want, "%d") {
				if i := strings.Index(line, "user:["); i >= 0 {
					fmt.Sscanf(line[i:], "user:[%d]", &ns)
				}
				want = fmt.Sprintf(want, ns)
			}
			if exitCodeOf(err) != 1 || strings.Contains(line, "\n") || !strings.HasPrefix(line, prefix) || !strings.Contains(line, want) {
				t.Errorf("%s, %s: exit %d, output %q; want 1 and one line %q...%q", c.name, name, exitCodeOf(err), out, prefix, want)
			}
		}
	}
}
