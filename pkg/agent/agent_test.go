package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/testutil"
)

// The tests are not parallel: each checks that its agent leaves no file
// descriptor open.

// runAgent runs an agent limited to processes whose comm matches include,
// until the test ends; then it checks that the agent detached everything and
// left no file descriptor open.
func runAgent(t *testing.T, include string, tweak ...func(*Config)) *Agent {
	t.Helper()
	return runAgentProbes(t, probe.Config{}, include, tweak...)
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > timeout {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// stateOf returns pid's state in a snapshot, "" when not listed.
func stateOf(a *Agent, pid int) string {
	for _, p := range a.Snapshot().Processes {
		if p.PID == pid {
			return p.State
		}
	}
	return ""
}

// copyTo copies the executable src to dst, a new file (a new inode).
func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestAgentExecAfterFork: a process that starts as a shell and execs a Go
// binary a while later (same PID) is attached within a second of the exec:
// by the rescan while the process is young (ExecWindow), by the reconcile
// after that.
func TestAgentExecAfterFork(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "exec-idle")
	copyTo(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}), exe)
	for _, c := range []struct {
		name  string
		tweak func(*Config)
	}{
		{"young", func(*Config) {}},
		{"reconcile", func(c *Config) { c.ExecWindow, c.Reconcile = 50*time.Millisecond, 400*time.Millisecond }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := runAgent(t, "^exec-", c.tweak)
			cmd := exec.Command("/bin/sh", "-c", "sleep 0.6; exec "+exe)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			pid := cmd.Process.Pid
			// The exec is when /proc/PID/exe starts naming the Go binary.
			waitFor(t, 5*time.Second, "the exec", func() bool {
				l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
				return l == exe
			})
			took := waitFor(t, time.Second, "the process watched after its exec", func() bool { return stateOf(a, pid) == model.StateWatching })
			t.Logf("watched %v after the exec", took.Round(time.Millisecond))
		})
	}
}

// TestAgentSharedAttachment: with opt-in probes (Trace), the processes of
// one executable share one attachment, detached after the last exits; an
// executable replaced on disk (a new inode) gets its own.
func TestAgentSharedAttachment(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "shared-idle")
	src := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE})
	copyTo(t, src, exe)
	a := runAgent(t, "^shared-", func(c *Config) { c.Trace = probe.Trace{Finalizers: true, GC: true} })
	binaries := func() int { return a.Snapshot().Stats.Binaries }

	p1, p2 := testutil.StartTarget(t, exe), testutil.StartTarget(t, exe)
	waitFor(t, 2*time.Second, "both watched", func() bool {
		return stateOf(a, p1.Pid) == model.StateWatching && stateOf(a, p2.Pid) == model.StateWatching
	})
	if n := binaries(); n != 1 {
		t.Fatalf("two processes of one executable: %d attachments, want 1", n)
	}
	copyTo(t, src, exe) // same contents and build ID, new inode
	p3 := testutil.StartTarget(t, exe)
	waitFor(t, 2*time.Second, "the process of the replaced executable watched", func() bool { return stateOf(a, p3.Pid) == model.StateWatching })
	if n := binaries(); n != 2 {
		t.Fatalf("after the executable was replaced: %d attachments, want 2", n)
	}
	for _, p := range []*testutil.Target{p1, p2} {
		if err := p.Cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 2*time.Second, "the old executable's attachment detached", func() bool { return binaries() == 1 })
	if st := stateOf(a, p3.Pid); st != model.StateWatching {
		t.Fatalf("the remaining process is %q", st)
	}
	s := a.Snapshot()
	for _, p := range s.Processes {
		if p.PID == p3.Pid && (p.Sample == nil || p.Sample.PID != p3.Pid) {
			t.Errorf("remaining process's sample: %+v", p.Sample)
		}
		if p.PID == p3.Pid && (p.Build == nil || !p.Build.PIE || p.Build.Stripped) {
			t.Errorf("remaining process's build %+v: want a PIE with its symbol table", p.Build)
		}
	}
}
