package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/preflight"
	"github.com/memsight/memsight/pkg/testutil"
)

// Linux capability numbers (linux/capability.h).
const (
	checkCapPerfmon = 38
	checkCapBPF     = 39
)

// asNobody runs as the unprivileged user nobody with the given ambient
// capabilities.
func asNobody(caps ...uintptr) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, AmbientCaps: caps}
}

// runCheck runs memsight with args and returns stdout, stderr and the exit code.
func runCheck(t *testing.T, attr *syscall.SysProcAttr, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(memsightBin, args...)
	cmd.SysProcAttr = attr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("memsight %v did not exit within 30s; stderr:\n%s", args, stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("memsight %v: %v", args, err)
	return "", "", 0
}

// tableStatuses parses check's table into name → status.
func tableStatuses(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "CHECK") {
		t.Fatalf("check output is not a table:\n%s", out)
	}
	st := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 {
			t.Fatalf("check table line %q: want CHECK STATUS MESSAGE", l)
		}
		st[f[0]] = f[1]
	}
	return st
}

// TestCheckRoot: on this machine (a supported kernel) as root every check
// passes and check exits 0, in both output formats.
func TestCheckRoot(t *testing.T) {
	testutil.RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestCheckRoot checks root's capabilities: run the BPF tests as root")
	}
	out, errOut, code := runCheck(t, nil, "check")
	if code != 0 || errOut != "" {
		t.Fatalf("memsight check as root: exit %d, stderr %q\n%s", code, errOut, out)
	}
	st := tableStatuses(t, out)
	for _, n := range []string{"kernel", "btf", "uprobe_pmu", "uprobe_multi", "perf_event_paranoid", "CAP_BPF", "CAP_PERFMON",
		"CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN", "host_pid"} {
		if st[n] != "ok" {
			t.Errorf("%s: %q, want ok\n%s", n, st[n], out)
		}
	}

	out, _, code = runCheck(t, nil, "check", "-o", "json")
	var rs []preflight.Result
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil || code != 0 || len(rs) != len(st) {
		t.Fatalf("check -o json: exit %d, %d results (table: %d), %v\n%s", code, len(rs), len(st), err, out)
	}
	if !strings.Contains(out, `"status": "ok"`) {
		t.Errorf("check -o json: statuses are not spelt ok/warn/fail:\n%s", out)
	}

	if _, errOut, code := runCheck(t, nil, "check", "-o", "yaml"); code != 2 || !strings.Contains(errOut, "unknown output format") {
		t.Errorf("check -o yaml: exit %d, stderr %q; want 2 and the usage error", code, errOut)
	}
}

// TestCheckUnprivileged: as nobody, check names the missing capabilities
// and exits 1; given CAP_BPF and CAP_PERFMON (what memsight cannot work
// without) it only warns about the others and exits 0.
func TestCheckUnprivileged(t *testing.T) {
	testutil.RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestCheckUnprivileged starts processes as another user: run the BPF tests as root")
	}
	out, errOut, code := runCheck(t, asNobody(), "check")
	st := tableStatuses(t, out)
	if code != 1 {
		t.Errorf("check as nobody: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for n, want := range map[string]string{"CAP_BPF": "fail", "CAP_PERFMON": "fail", "CAP_SYS_PTRACE": "warn", "CAP_DAC_READ_SEARCH": "warn", "kernel": "ok", "uprobe_pmu": "ok"} {
		if st[n] != want {
			t.Errorf("check as nobody: %s %q, want %s\n%s", n, st[n], want, out)
		}
	}
	if !strings.Contains(out, "grant CAP_BPF") || !strings.Contains(out, "grant CAP_PERFMON") {
		t.Errorf("check as nobody: the fix (grant CAP_BPF, CAP_PERFMON) is not named:\n%s", out)
	}
	if want := "memsight: 2 of 11 checks failed: CAP_BPF, CAP_PERFMON\n"; errOut != want {
		t.Errorf("check as nobody: stderr %q, want %q", errOut, want)
	}

	out, errOut, code = runCheck(t, asNobody(checkCapBPF, checkCapPerfmon), "check")
	st = tableStatuses(t, out)
	if code != 0 || errOut != "" {
		t.Errorf("check as nobody with CAP_BPF and CAP_PERFMON: exit %d, stderr %q, want 0\n%s", code, errOut, out)
	}
	for n, want := range map[string]string{"CAP_BPF": "ok", "CAP_PERFMON": "ok", "uprobe_multi": "ok", "CAP_SYS_PTRACE": "warn", "CAP_DAC_READ_SEARCH": "warn"} {
		if st[n] != want {
			t.Errorf("check as nobody with CAP_BPF and CAP_PERFMON: %s %q, want %s\n%s", n, st[n], want, out)
		}
	}
}

// TestCheckAgentUnprivileged: the agent runs the same checks at start, logs
// one line per check that is not ok, and exits 1 with one line naming the
// failed ones before it loads any BPF.
func TestCheckAgentUnprivileged(t *testing.T) {
	testutil.RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestCheckAgentUnprivileged starts processes as another user: run the BPF tests as root")
	}
	_, errOut, code := runCheck(t, asNobody(), "agent", "--listen", "127.0.0.1:0")
	if code != 1 {
		t.Fatalf("agent as nobody: exit %d, want 1\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	var warns, errs int
	for _, l := range lines[:len(lines)-1] {
		switch {
		case strings.Contains(l, "level=WARN") && strings.Contains(l, `msg="startup check"`):
			warns++
		case strings.Contains(l, "level=ERROR") && strings.Contains(l, `msg="startup check"`):
			errs++
		default:
			t.Errorf("agent as nobody: unexpected log line %q", l)
		}
	}
	// Warnings: uprobe_multi (cannot probe), CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH.
	if warns != 3 || errs != 2 {
		t.Errorf("agent as nobody: %d warnings and %d errors logged, want 3 and 2:\n%s", warns, errs, errOut)
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "memsight: startup checks failed: CAP_BPF: ") || !strings.Contains(last, "CAP_PERFMON: ") {
		t.Errorf("agent as nobody: last line %q, want the failed checks", last)
	}
}
