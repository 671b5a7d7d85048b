package target

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/testutil"
)

// secondProcfs mounts another procfs instance for the test (as root) and
// returns its mount point.
func secondProcfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("proc", dir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mounting a second procfs at %s (the test runs as root): %v", dir, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func open(t *testing.T, root string, pid int) (*Target, error) {
	t.Helper()
	procs, err := process.New(process.Config{ProcRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	cache := goexe.NewCache(2)
	t.Cleanup(func() { cache.Close() })
	return Open(Config{PID: pid, Procs: procs, Cache: cache})
}

// TestOpen opens a Go process, default and PIE, through /proc and through
// a second procfs mount: the process, its binary, the load bias and the
// runtime are read; Close is idempotent.
func TestOpen(t *testing.T) {
	alt := secondProcfs(t)
	for _, v := range []testutil.Variant{{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, {Toolchain: testutil.GoInstalled, Mode: testutil.PIE}} {
		tg := testutil.StartTarget(t, testutil.BuildTarget(t, "idle", v))
		tg.WaitLine(t, "READY", 10*time.Second)
		for _, root := range []string{"", alt} {
			tt, err := open(t, root, tg.Pid)
			if err != nil {
				t.Fatalf("%s, procfs %q: %v", v, root, err)
			}
			n, err := tt.Runtime.AllGLen()
			if !strings.HasPrefix(tt.Process.Comm, "idle") || tt.Binary.GoVersion != v.Toolchain || (tt.Bias != 0) != (v.Mode == testutil.PIE) || len(tt.Maps) == 0 || err != nil || n < 4 {
				t.Errorf("%s, procfs %q: comm %q, %s, bias %#x, %d mappings, allglen %d (%v)", v, root, tt.Process.Comm, tt.Binary.GoVersion, tt.Bias, len(tt.Maps), n, err)
			}
			if err := tt.Close(); err != nil || tt.Close() != nil {
				t.Errorf("Close: %v", err)
			}
		}
	}
}

// TestOpenErrors: a missing process, a process that is not Go and one that
// exits before Open each give one line and the sentinel to branch on.
func TestOpenErrors(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	_, err := open(t, "", 1<<30)
	if !errors.Is(err, process.ErrNoProcess) || err.Error() != "no process with pid 1073741824" {
		t.Errorf("no such pid: %v", err)
	}
	_, err = open(t, "", sleep.Process.Pid)
	if !errors.Is(err, goexe.ErrNotGo) || !strings.HasSuffix(err.Error(), "(sleep) is not a Go process") {
		t.Errorf("sleep: %v", err)
	}

	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}))
	tg.WaitLine(t, "READY", 10*time.Second)
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cache := goexe.NewCache(1)
	defer cache.Close()
	p, b, err := Inspect(Config{PID: tg.Pid, Procs: procs, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	tg.Cmd.Process.Kill()
	if exited, _ := tg.Wait(10 * time.Second); !exited {
		t.Fatal("idle did not exit")
	}
	_, err = Open(Config{PID: tg.Pid, Procs: procs, Binary: b, Process: &p})
	if !errors.Is(err, process.ErrNoProcess) || !strings.HasSuffix(err.Error(), ") exited") {
		t.Errorf("exited before Open: %v", err)
	}
	if _, err := Open(Config{PID: os.Getpid()}); err == nil {
		t.Error("Open without Procs succeeded")
	}
}
