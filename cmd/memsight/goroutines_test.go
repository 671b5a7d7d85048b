package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// leakLine is the line of goleak's leaking go statement (marked "// LEAK").
func leakLine(t *testing.T) int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "goleak", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(l, "// LEAK") {
			return i + 1
		}
	}
	t.Fatal("no LEAK marker in goleak/main.go")
	return 0
}

// startLeak starts goleak, leaking exactly n goroutines, and waits until
// it stopped leaking.
func startLeak(t *testing.T, v testutil.Variant, n int) *testutil.Target {
	t.Helper()
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "goleak", v), "-rate=20000", fmt.Sprintf("-max=%d", n))
	if got := tg.WaitLine(t, "STEADY leaked=", 20*time.Second); got != fmt.Sprint(n) {
		t.Fatalf("goleak leaked %s, want %d", got, n)
	}
	return tg
}

// numGoroutine runs f between two NG lines and returns their
// runtime.NumGoroutine, failing if they differ.
func numGoroutine(t *testing.T, tg *testutil.Target, f func()) int {
	t.Helper()
	var before, after, total, leaked int
	fmt.Sscanf(tg.WaitNextLine(t, "NG ", 10*time.Second), "%d", &before)
	f()
	fmt.Sscanf(tg.WaitNextLine(t, "NG ", 10*time.Second), "%d total=%d leaked=%d", &after, &total, &leaked)
	if before != after {
		t.Fatalf("NumGoroutine changed from %d to %d during the census", before, after)
	}
	return before
}

// TestGoroutines runs `memsight goroutines` on a process that leaked 3217
// goroutines from one go statement.
func TestGoroutines(t *testing.T) {
	const leaked = 3217
	line := leakLine(t)
	site := fmt.Sprintf("main.go:%d", line)
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			tg := startLeak(t, v, leaked)
			pid := fmt.Sprint(tg.Pid)

			var out []byte
			ng := numGoroutine(t, tg, func() {
				var err error
				if out, err = exec.Command(memsightBin, "goroutines", pid, "-o", "json").Output(); err != nil {
					t.Fatalf("memsight goroutines -o json: %v", err)
				}
			})
			var c model.Census
			if err := json.Unmarshal(out, &c); err != nil {
				t.Fatalf("not a census: %v\n%s", err, out)
			}
			if d := c.User - ng; d < -2 || d > 2 || c.NumGoroutine != c.User {
				t.Errorf("user %d, num_goroutine %d; runtime.NumGoroutine %d", c.User, c.NumGoroutine, ng)
			}
			if c.GoVersion != v.Toolchain || len(c.BySite) == 0 {
				t.Fatalf("census %s", out)
			}
			top := c.BySite[0]
			if top.Function != "main.handler" || top.Line != line || !strings.HasSuffix(top.File, "goleak/main.go") ||
				top.Count != leaked || top.WaitReason != "chan receive" || c.ByWaitReason["chan receive"] != leaked {
				t.Errorf("top site %+v, by wait reason %v", top, c.ByWaitReason)
			}
			t.Logf("user %d (NumGoroutine %d), total %d, %d sites", c.User, ng, c.Total, c.Sites)

			table, err := exec.Command(memsightBin, "goroutines", pid).Output()
			if err != nil {
				t.Fatalf("memsight goroutines: %v", err)
			}
			want := fmt.Sprintf("%d  chan receive     created at main.handler ", leaked)
			if !strings.Contains(string(table), want) || !strings.Contains(string(table), site) ||
				!strings.Contains(string(table), fmt.Sprintf("goroutines %d (NumGoroutine %d)", c.User, c.User)) {
				t.Errorf("table lacks %q / %s:\n%s", want, site, table)
			}

			stacks, err := exec.Command(memsightBin, "goroutines", pid, "--stacks", "--top", "3").Output()
			if err != nil {
				t.Fatalf("memsight goroutines --stacks: %v", err)
			}
			if !strings.Contains(string(stacks), fmt.Sprintf("goroutine profile: total %d\n%d @ ", c.User, leaked)) ||
				!strings.Contains(string(stacks), "\tmain.handler.func1+0x") {
				t.Errorf("--stacks output:\n%s", stacks)
			}
		})
	}
}

// TestGoroutinesErrors: one clear line and a non-zero exit.
func TestGoroutinesErrors(t *testing.T) {
	notGo := exec.Command("sleep", "60")
	if err := notGo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notGo.Process.Kill(); notGo.Wait() })
	tg := startLeak(t, testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, 10)

	for _, tc := range []struct {
		name   string
		args   []string
		nobody bool
		want   string
		code   int
	}{
		{"bad pid", []string{"goroutines", "abc"}, false, "PID must be a positive integer", 2},
		{"bad top", []string{"goroutines", "1", "--top", "0"}, false, "--top", 2},
		{"no process", []string{"goroutines", "99999999"}, false, "no process with pid 99999999", 1},
		{"not go", []string{"goroutines", fmt.Sprint(notGo.Process.Pid)}, false, "is not a Go process", 1},
		{"no privileges", []string{"goroutines", fmt.Sprint(tg.Pid)}, true, "CAP_SYS_PTRACE", 1},
		{"too many", []string{"goroutines", fmt.Sprint(tg.Pid), "--max-goroutines", "5"}, false, "too many goroutines", 1},
	} {
		cmd := exec.Command(memsightBin, tc.args...)
		if tc.nobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.code {
			t.Errorf("%s: exit %v, want %d\n%s", tc.name, err, tc.code, out)
		}
		if !strings.Contains(string(out), tc.want) || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Errorf("%s: output %q, want one line with %q", tc.name, out, tc.want)
		}
	}
}
