package main

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// startLeakserve starts testdata/targets/leakserve leaking n goroutines of
// each kind (receive, send, mutex) and waits until it serves.
func startLeakserve(t *testing.T, bin string, n int) *testutil.Target {
	t.Helper()
	tg := testutil.StartTarget(t, bin, "-leak", strconv.Itoa(n))
	tg.WaitLine(t, "READY", 30*time.Second)
	return tg
}

// TestGoroutinesLeaks: `memsight goroutines PID --leaks` names the leaks of
// a server under load and nothing else, as a table and as JSON.
func TestGoroutinesLeaks(t *testing.T) {
	t.Parallel()
	tg := startLeakserve(t, testutil.BuildTarget(t, "leakserve", testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Stripped}), 4)
	pid := strconv.Itoa(tg.Pid)
	out, err := exec.Command(memsightBin, "goroutines", pid, "--leaks", "-o", "json").Output()
	if err != nil {
		t.Fatalf("memsight goroutines --leaks -o json: %v", err)
	}
	var rep struct {
		PID   int `json:"pid"`
		Leaks []struct {
			CreationSite string   `json:"creation_site"`
			Function     string   `json:"function"`
			WaitReason   string   `json:"wait_reason"`
			Count        int      `json:"count"`
			Oldest       *float64 `json:"oldest_wait_seconds"`
			Stack        []string `json:"stack"`
			Pinned       uint64   `json:"bytes_pinned_estimate"`
		} `json:"leaks"`
		Mark struct {
			BytesRead     uint64   `json:"bytes_read"`
			ObjectsMarked uint64   `json:"objects_marked"`
			Seconds       float64  `json:"seconds"`
			Conservative  []string `json:"conservative"`
			Marks         int      `json:"marks"`
		} `json:"mark"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("not a leak report: %v\n%s", err, out)
	}
	got := map[string]int{}
	for _, l := range rep.Leaks {
		if !strings.HasPrefix(l.Function, "main.leakSome.") || !strings.Contains(l.CreationSite, "main.go:") || len(l.Stack) == 0 || l.Pinned == 0 {
			t.Errorf("leak %+v: not one of leakSome's, or incomplete", l)
		}
		got[l.WaitReason] += l.Count
	}
	if got["chan receive"] != 4 || got["chan send"] != 4 || got["sync.Mutex.Lock"] < 1 || len(got) != 3 {
		t.Errorf("leaked by wait reason %v, want 4 receives, 4 sends and 1-4 mutex waits", got)
	}
	if rep.PID != tg.Pid || rep.Mark.Marks != 2 || rep.Mark.BytesRead == 0 || rep.Mark.ObjectsMarked == 0 || rep.Mark.Conservative == nil {
		t.Errorf("report header %+v", rep)
	}
	table, err := exec.Command(memsightBin, "goroutines", pid, "--leaks").Output()
	if err != nil {
		t.Fatalf("memsight goroutines --leaks: %v", err)
	}
	for _, want := range []string{"LEAKED GOROUTINES: ", "chan receive", "main.leakSome.func1", "created by main.leakSome"} {
		if !strings.Contains(string(table), want) {
			t.Errorf("table has no %q:\n%s", want, table)
		}
	}
	for _, args := range [][]string{{"--leaks", "--max-memory", "0"}, {"--leaks", "--leak-stack", "-1"}} {
		cmd := exec.Command(memsightBin, append([]string{"goroutines", pid}, args...)...)
		if out, err := cmd.CombinedOutput(); exitCodeOf(err) != 2 || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Errorf("%v: exit %d, want a one-line usage error: %s", args, exitCodeOf(err), out)
		}
	}
}

// TestAttachLeakScan: `memsight attach --leak-scan` puts the verdict on the
// samples and raises goroutine_leak with the sites as evidence.
func TestAttachLeakScan(t *testing.T) {
	t.Parallel()
	tg := startLeakserve(t, testutil.BuildTarget(t, "leakserve", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}), 3)
	out, err := exec.Command(memsightBin, "attach", strconv.Itoa(tg.Pid), "--leak-scan", "2s", "--interval", "500ms", "--duration", "4s", "-o", "json").Output()
	if err != nil {
		t.Fatalf("memsight attach --leak-scan: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var last model.Sample
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.GoroutineLeaks == nil || last.GoroutineLeaks.Leaked < 7 || last.GoroutineLeaks.BytesPinnedEstimate == 0 {
		t.Fatalf("last sample's goroutine_leaks %+v, want ≥ 7 leaked", last.GoroutineLeaks)
	}
	var f *model.Finding
	for i := range last.Findings {
		if last.Findings[i].Kind == "goroutine_leak" {
			f = &last.Findings[i]
		}
	}
	if f == nil || !strings.Contains(f.Summary, "main.leakSome.func1 [chan receive]") {
		t.Fatalf("findings %+v, want goroutine_leak naming main.leakSome.func1", last.Findings)
	}
	if sites, _ := f.Evidence["sites"].([]any); len(sites) != 3 {
		t.Errorf("evidence sites %v, want 3", f.Evidence["sites"])
	}
	if out, err := exec.Command(memsightBin, "attach", strconv.Itoa(tg.Pid), "--leak-scan", "100ms").CombinedOutput(); exitCodeOf(err) != 2 {
		t.Errorf("--leak-scan 100ms: exit %d, want a usage error: %s", exitCodeOf(err), out)
	}
}

// TestAgentLeakScan: the agent with --leak-scan exports
// memsight_goroutines_leaked and the goroutine_leak finding.
func TestAgentLeakScan(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	bin := copyTarget(t, "leakserve", testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.PIE}, "leaks-serve")
	a := startAgent(t, "--include-comm", "^leaks-", "--interval", "500ms", "--leak-scan", "2s")
	tg := startLeakserve(t, bin, 2)
	pid := strconv.Itoa(tg.Pid)
	took := a.waitFor(t, 30*time.Second, "goroutine_leak", func() bool {
		v, _ := value(a.scrape(t), "memsight_finding_active", "pid", pid, "kind", "goroutine_leak")
		return v == 1
	})
	ss := a.scrape(t)
	if v, ok := value(ss, "memsight_goroutines_leaked", "pid", pid); !ok || v < 5 || v > 6 {
		t.Errorf("memsight_goroutines_leaked = %v (present %v), want 5 or 6", v, ok)
	}
	if v, _ := value(ss, "memsight_goroutines_leaked_pinned_bytes", "pid", pid); v < 4*2048 {
		t.Errorf("memsight_goroutines_leaked_pinned_bytes = %v", v)
	}
	t.Logf("goroutine_leak active %v after the target started (--leak-scan 2s)", took.Round(time.Millisecond))
}
