package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestPs runs `memsight ps -o json` against running copies of the idle target
// in every build variant, plus a non-Go process.
func TestPs(t *testing.T) {
	type running struct {
		v   testutil.Variant
		pid int
	}
	var targets []running
	for _, v := range testutil.Matrix() {
		exe := testutil.BuildTarget(t, "idle", v)
		tg := testutil.StartTarget(t, exe)
		tg.WaitLine(t, "READY", 20*time.Second)
		targets = append(targets, running{v, tg.Pid})
	}
	notGo := exec.Command("sleep", "60")
	if err := notGo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notGo.Process.Kill(); notGo.Wait() })

	out, err := exec.Command(memsightBin, "ps", "-o", "json").Output()
	if err != nil {
		t.Fatalf("memsight ps: %v", err)
	}
	var list []model.GoProcess
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("memsight ps -o json is not a JSON array: %v\n%s", err, out)
	}
	byPID := map[int]model.GoProcess{}
	for _, p := range list {
		byPID[p.PID] = p
	}
	if _, ok := byPID[notGo.Process.Pid]; ok {
		t.Errorf("non-Go process %d (sleep) is listed", notGo.Process.Pid)
	}
	for _, tg := range targets {
		p, ok := byPID[tg.pid]
		if !ok {
			t.Errorf("%s: pid %d not listed", tg.v, tg.pid)
			continue
		}
		if p.GoVersion != tg.v.Toolchain {
			t.Errorf("%s: go_version %q", tg.v, p.GoVersion)
		}
		if !p.Attachable || p.Reason != "" {
			t.Errorf("%s: attachable=%v reason=%q", tg.v, p.Attachable, p.Reason)
		}
		if p.Stripped != (tg.v.Mode == testutil.Stripped) || p.PIE != (tg.v.Mode == testutil.PIE) || p.CGO != (tg.v.Mode == testutil.CGO) {
			t.Errorf("%s: stripped=%v pie=%v cgo=%v", tg.v, p.Stripped, p.PIE, p.CGO)
		}
		if p.RSSBytes == 0 || p.Exe == "" || p.Comm == "" {
			t.Errorf("%s: incomplete entry %+v", tg.v, p)
		}
	}

	// The table lists the same processes.
	table, err := exec.Command(memsightBin, "ps").Output()
	if err != nil {
		t.Fatalf("memsight ps: %v", err)
	}
	if !strings.HasPrefix(string(table), "PID") || !strings.Contains(string(table), "go1.27.3") {
		t.Errorf("table output:\n%s", table)
	}
}

// TestPsWithoutPrivileges: as an unprivileged user, ps names the missing
// capability instead of printing an empty list.
func TestPsWithoutPrivileges(t *testing.T) {
	cmd := exec.Command(memsightBin, "ps")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("memsight ps as nobody succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "CAP_SYS_PTRACE") {
		t.Errorf("error does not name the missing capability:\n%s", out)
	}
	if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n != 0 {
		t.Errorf("want one line, got:\n%s", out)
	}
}

// TestUsageErrors: bad arguments give one clear line and a non-zero exit.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"attach", "abc"}, "PID must be a positive integer", 2},
		{[]string{"attach", "99999999"}, "no process with pid 99999999", 1},
		{[]string{"attach", "1", "--interval", "1ns"}, "--interval must be at least", 2},
		{[]string{"attach", "1", "--growth-confidence", "1"}, "--growth-confidence must be between 0 and 1", 2},
		{[]string{"attach", "1", "--growth-min-window", "0s"}, "--growth-min-window must be a positive duration", 2},
		{[]string{"ps", "-o", "yaml"}, "unknown output format", 2},
		{[]string{"attach", "self-test"}, "PID must be", 2},
	} {
		out, err := exec.Command(memsightBin, tc.args...).CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.code {
			t.Errorf("%v: exit %v, want %d\n%s", tc.args, err, tc.code, out)
		}
		if !strings.Contains(string(out), tc.want) || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Errorf("%v: output %q, want one line with %q", tc.args, out, tc.want)
		}
	}
}

// TestAttachNotGo: attaching to a non-Go process says so.
func TestAttachNotGo(t *testing.T) {
	testutil.RequireBPF(t)
	c := exec.Command("sleep", "60")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	out, err := exec.Command(memsightBin, "attach", strconv.Itoa(c.Process.Pid)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is not a Go process") {
		t.Errorf("attach to sleep: err=%v out=%q", err, out)
	}
}
