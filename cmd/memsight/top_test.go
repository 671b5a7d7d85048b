package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// execTop runs memsight top with args and returns its stdout and stderr;
// it fails the test when top does not exit with want.
func execTop(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(memsightBin, append([]string{"top"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("memsight top %v did not exit within 60s; stdout:\n%s\nstderr:\n%s", args, out.String(), errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != want {
		t.Fatalf("memsight top %v: exit %d, want %d; stdout:\n%s\nstderr:\n%s", args, code, want, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// frames splits top's batch output into its frames.
func frames(out string) []string {
	parts := strings.Split(out, "memsight top  ")
	var fs []string
	for _, p := range parts[1:] {
		fs = append(fs, "memsight top  "+p)
	}
	return fs
}

// pidRow returns the table row of pid in a frame, as fields.
func pidRow(t *testing.T, frame string, pid int) []string {
	t.Helper()
	for line := range strings.SplitSeq(frame, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == strconv.Itoa(pid) {
			return f
		}
	}
	t.Fatalf("no row for pid %d in frame:\n%s", pid, frame)
	return nil
}

// vmRSS is a process's resident set from /proc, in bytes.
func vmRSS(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in %s", b)
	}
	kb, _ := strconv.ParseFloat(string(m[1]), 64)
	return kb * 1024
}

// parseSize parses top's compact sizes: 512B, 3.1M, 1.2G.
func parseSize(t *testing.T, s string) float64 {
	t.Helper()
	mult := map[byte]float64{'B': 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}[s[len(s)-1]]
	v, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil || mult == 0 {
		t.Fatalf("bad size %q", s)
	}
	return v * mult
}

// TestTopNode: top watching the node itself prints 3 frames and exits 0;
// the stuck target's row has its RSS (as /proc says) and finalizer queue,
// and the finalizer_stall finding names the stuck function with its stack.
func TestTopNode(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	exe := copyTarget(t, "finstuck", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "top-finstuck")
	tg := testutil.StartTarget(t, exe)
	tg.WaitLine(t, "BLOCKED", 30*time.Second)
	// Let the finalizer stay blocked past the stall threshold (2s), counting
	// the target's rounds: top's second sample reads the runtime's wait time.
	blocked, gt := time.Now(), ""
	for time.Since(blocked) < 2500*time.Millisecond {
		gt = tg.WaitNextLine(t, "GT ", 10*time.Second)
	}

	out, _ := execTop(t, 0, "-n", "3", "--interval", "1s", "--include-comm", "^top-finstuck$")
	rss := vmRSS(t, tg.Pid)
	fs := frames(out)
	if len(fs) != 3 {
		t.Fatalf("%d frames, want 3:\n%s", len(fs), out)
	}
	if strings.ContainsRune(out, '\x1b') {
		t.Errorf("escape sequences in output to a pipe:\n%q", out)
	}
	last := fs[2]
	row := pidRow(t, last, tg.Pid)
	// PID COMM GO RSS RSS/h HEAP GOR FINQ FIN-RUN FINDINGS
	if len(row) != 10 || row[1] != "top-finstuck" || row[2] != strings.TrimPrefix(testutil.GoInstalled, "go") {
		t.Fatalf("row %q", row)
	}
	if got := parseSize(t, row[3]); got < rss*0.7-(1<<20) || got > rss*1.3+(1<<20) {
		t.Errorf("RSS %s, /proc says %.0f bytes", row[3], rss)
	}
	var queued, executed int64
	fmt.Sscanf(gt, "queued=%d executed=%d", &queued, &executed)
	if q, err := strconv.ParseInt(row[7], 10, 64); err != nil || q < queued-executed-200 {
		t.Errorf("FINQ %s, the target's runtime had %d queued and not run", row[7], queued-executed)
	}
	if row[9] != "finalizer_stall" {
		t.Errorf("FINDINGS %q, want finalizer_stall", row[9])
	}
	re := regexp.MustCompile(`(?m)^  (warning|critical)\s+finalizer_stall\s+` + strconv.Itoa(tg.Pid) +
		` top-finstuck  finalizer main\.\(\*stuckConn\)\.Close has been blocked .*\n\s+runtime\.chanrecv1 .*\n\s+main\.\(\*stuckConn\)\.Close .*finstuck/main\.go:\d+\n`)
	if !re.MatchString(last) {
		t.Errorf("no finalizer_stall naming main.(*stuckConn).Close with its stack in:\n%s", last)
	}
	if !strings.Contains(last, "Go processes 1: 1 watching") || !regexp.MustCompile(`findings 1: 1 (warning|critical)`).MatchString(last) {
		t.Errorf("header:\n%s", last)
	}
	t.Logf("last frame:\n%s", last)
}

// TestTopFrom: top --from reads a running agent's API, as an unprivileged
// user, in table and JSON form.
func TestTopFrom(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "topfrom-finq")
	a := startAgent(t, "--include-comm", "^topfrom-", "--interval", "500ms")
	tg := testutil.StartTarget(t, finq, "-block-after", "1s")
	a.waitFor(t, 15*time.Second, "finalizer_stall in the API", func() bool {
		_, body := a.get(t, "/api/v1/findings")
		return bytes.Contains(body, []byte(`"finalizer_stall"`))
	})

	// Unprivileged, as through kubectl port-forward.
	cmd := exec.Command(memsightBin, "top", "--from", "http://"+a.addr, "-n", "2", "--interval", "1s")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("memsight top --from as nobody: %v\n%s", err, b)
	}
	fs := frames(string(b))
	if len(fs) != 2 {
		t.Fatalf("%d frames, want 2:\n%s", len(fs), b)
	}
	last := fs[1]
	if !strings.Contains(last, "agent http://"+a.addr) {
		t.Errorf("the header does not name the agent:\n%s", last)
	}
	row := pidRow(t, last, tg.Pid)
	if len(row) != 10 || row[1] != "topfrom-finq" || row[9] != "finalizer_stall" {
		t.Errorf("row %q", row)
	}
	if got, rss := parseSize(t, row[3]), vmRSS(t, tg.Pid); got < rss*0.7-(1<<20) || got > rss*1.3+(1<<20) {
		t.Errorf("RSS %s, /proc says %.0f bytes", row[3], rss)
	}
	for _, want := range []string{"finalizer main.slowFinalizer has been blocked", "main.blockingFinalizer ", "main.slowFinalizer "} {
		if !strings.Contains(last, want) {
			t.Errorf("no %q in:\n%s", want, last)
		}
	}

	out, _ := execTop(t, 0, "--from", a.addr, "-o", "json") // no scheme: http assumed
	var fr struct {
		Source    string `json:"source"`
		Processes []struct {
			PID        int      `json:"pid"`
			RSS        *uint64  `json:"rss_bytes"`
			Heap       *uint64  `json:"heap_inuse_bytes"`
			Goroutines *int     `json:"goroutines"`
			FinQ       *int64   `json:"finalizer_queue"`
			FinRun     *float64 `json:"finalizer_running_seconds"`
			Findings   []string `json:"findings"`
		} `json:"processes"`
		Findings []struct {
			PID      int            `json:"pid"`
			Kind     string         `json:"kind"`
			Evidence map[string]any `json:"evidence"`
		} `json:"findings"`
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("-o json printed %d lines, want 1:\n%s", n, out)
	}
	if err := json.Unmarshal([]byte(out), &fr); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	found := false
	for _, p := range fr.Processes {
		if p.PID == tg.Pid {
			found = true
			if p.RSS == nil || *p.RSS == 0 || p.Heap == nil || p.Goroutines == nil || p.FinQ == nil || p.FinRun == nil || *p.FinRun < 2 {
				t.Errorf("JSON row incomplete: %+v", p)
			}
		}
	}
	if !found || len(fr.Findings) == 0 || fr.Findings[0].PID != tg.Pid || fr.Findings[0].Kind != "finalizer_stall" ||
		fr.Findings[0].Evidence["function"] != "main.slowFinalizer" {
		t.Errorf("JSON frame: %s", out)
	}
}

// TestTopErrors: each failure is one line naming the fix, with a non-zero
// exit (2 for bad flags).
func TestTopErrors(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		name   string
		args   []string
		nobody bool
		code   int
		want   string
	}{
		{"no privileges", []string{"-n", "1"}, true, 1, "CAP_BPF"},
		{"bad --from", []string{"--from", "ftp://x"}, false, 2, `--from "ftp://x": want the agent's address`},
		{"agent unreachable", []string{"--from", closed}, false, 1, "agent at http://" + closed + " unreachable"},
		{"bad port", []string{"--from", "http://" + closed + "x"}, false, 2, "--from"},
		{"bad --sort", []string{"--sort", "mem"}, false, 2, "--sort: unknown sort"},
		{"--include-comm with --from", []string{"--from", closed, "--include-comm", "x"}, false, 2, "--include-comm applies to the node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(memsightBin, append([]string{"top"}, c.args...)...)
			if c.nobody {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "memsight: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q, want memsight: …%s…", last, c.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}
