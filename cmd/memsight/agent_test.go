package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ebpflink "github.com/cilium/ebpf/link"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// agentRun is a running `memsight agent` on a loopback port.
type agentRun struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
	err    error
}

// startAgent starts memsight agent on 127.0.0.1 (a free port) and waits
// until it is ready. Tests pass --include-comm so that the agent leaves the
// machine's other Go processes alone.
func startAgent(t *testing.T, args ...string) *agentRun {
	t.Helper()
	a := &agentRun{done: make(chan struct{})}
	a.cmd = exec.Command(memsightBin, append([]string{"agent", "--listen", "127.0.0.1:0"}, args...)...)
	pr, pw := io.Pipe()
	a.cmd.Stderr = pw
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="memsight agent listening" address=(\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			a.mu.Lock()
			a.stderr.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		a.err = a.cmd.Wait()
		pw.Close()
		close(a.done)
	}()
	t.Cleanup(func() {
		_ = a.cmd.Process.Kill()
		<-a.done
		if t.Failed() {
			t.Logf("agent stderr:\n%s", a.stderrText())
		}
	})
	select {
	case a.addr = <-addr:
	case <-a.done:
		t.Fatalf("memsight agent exited: %v\n%s", a.err, a.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("memsight agent did not listen within 30s:\n%s", a.stderrText())
	}
	a.waitFor(t, 10*time.Second, "ready", func() bool {
		code, _ := a.get(t, "/readyz")
		return code == http.StatusOK
	})
	return a
}

func (a *agentRun) stderrText() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

func (a *agentRun) request(t *testing.T, method, path string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+a.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\nagent stderr:\n%s", method, path, err, a.stderrText())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return resp.StatusCode, b
}

func (a *agentRun) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	return a.request(t, http.MethodGet, path)
}

// waitFor polls ok every 20 ms until it holds, or fails the test.
func (a *agentRun) waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > timeout {
			t.Fatalf("no %s within %v; agent stderr:\n%s", what, timeout, a.stderrText())
		}
		select {
		case <-a.done:
			t.Fatalf("agent exited (%v) while waiting for %s:\n%s", a.err, what, a.stderrText())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(start)
}

// series is one sample line of a scrape.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

var labelRe = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// scrape parses /metrics (the text format).
func (a *agentRun) scrape(t *testing.T) []series {
	t.Helper()
	code, body := a.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	var out []series
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		s := series{name: line[:i], labels: map[string]string{}, value: v}
		if j := strings.IndexByte(line, '{'); j >= 0 && j < i {
			s.name = line[:j]
			for _, m := range labelRe.FindAllStringSubmatch(line[j:i], -1) {
				s.labels[m[1]] = m[2]
			}
		}
		out = append(out, s)
	}
	return out
}

// value finds the series with this name and labels (a subset); ok is false
// when there is none.
func value(ss []series, name string, labels ...string) (float64, bool) {
next:
	for _, s := range ss {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

// pidSeries counts the series labelled with pid.
func pidSeries(ss []series, pid int) int {
	n := 0
	for _, s := range ss {
		if s.labels["pid"] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}

// copyTarget builds a target and copies it under a new name (its comm, at
// most 15 bytes), so that each test's agent can select its own processes.
func copyTarget(t *testing.T, name string, v testutil.Variant, as string) string {
	t.Helper()
	src := testutil.BuildTarget(t, name, v)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, as)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

func agentProcesses(t *testing.T, a *agentRun) map[int]map[string]any {
	t.Helper()
	code, body := a.get(t, "/api/v1/processes")
	if code != http.StatusOK {
		t.Fatalf("/api/v1/processes: %d %s", code, body)
	}
	var list struct {
		Processes []map[string]any `json:"processes"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	out := map[int]map[string]any{}
	for _, p := range list.Processes {
		out[int(p["pid"].(float64))] = p
	}
	return out
}

// agentRSS is the agent's resident set in bytes.
func agentRSS(t *testing.T, a *agentRun) uint64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmRSS in %s", b)
	}
	kb, _ := strconv.ParseUint(string(m[1]), 10, 64)
	return kb << 10
}

// TestAgentSeries: several Go targets started after the agent get their
// series within 2 s, with no probe attached to any (the default set reads
// memory only); the API serves each process's sample; a killed target's
// series disappear; SIGTERM detaches everything and exits 0.
func TestAgentSeries(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "series-finq")
	idle := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.PIE}, "series-idle")
	a := startAgent(t, "--include-comm", "^series-", "--interval", "500ms")

	start := time.Now()
	targets := []*testutil.Target{
		testutil.StartTarget(t, finq), testutil.StartTarget(t, finq), testutil.StartTarget(t, idle),
	}
	watchedAt := map[int]time.Duration{}
	seriesAt := map[int]time.Duration{}
	a.waitFor(t, 2*time.Second, "series for every target", func() bool {
		procs, ss := agentProcesses(t, a), a.scrape(t)
		for _, tg := range targets {
			if _, ok := watchedAt[tg.Pid]; !ok && procs[tg.Pid]["state"] == "watching" {
				watchedAt[tg.Pid] = time.Since(start)
			}
			if _, ok := seriesAt[tg.Pid]; !ok {
				if _, ok := value(ss, "memsight_process_rss_bytes", "pid", strconv.Itoa(tg.Pid)); ok {
					seriesAt[tg.Pid] = time.Since(start)
				}
			}
		}
		return len(seriesAt) == len(targets)
	})
	for _, tg := range targets {
		t.Logf("pid %d: watched %v, series %v after start", tg.Pid, watchedAt[tg.Pid].Round(time.Millisecond), seriesAt[tg.Pid].Round(time.Millisecond))
		if w, ok := watchedAt[tg.Pid]; ok && w > time.Second {
			t.Errorf("pid %d attached %v after its exec, want < 1s", tg.Pid, w)
		}
	}

	ss := a.scrape(t)
	for _, c := range []struct {
		name string
		want float64
	}{{"memsight_agent_watched_processes", 3}, {"memsight_agent_attached_binaries", 0}, {"memsight_agent_ready", 1}} {
		if v, _ := value(ss, c.name); v != c.want {
			t.Errorf("%s = %v, want %v", c.name, v, c.want)
		}
	}
	if _, ok := value(ss, "go_goroutines"); !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	if _, ok := value(ss, "process_resident_memory_bytes"); !ok {
		t.Error("no process_resident_memory_bytes: the process collector is missing")
	}
	fq := strconv.Itoa(targets[0].Pid)
	for _, name := range []string{"memsight_process_rss_bytes", "memsight_finalizers_queued_total", "memsight_finalizers_executed_total",
		"memsight_finalizer_running_seconds", "memsight_finalizer_queue_length", "memsight_cleanup_queue_length",
		"memsight_gc_cycles_total", "memsight_go_heap_inuse_bytes", "memsight_goroutines"} {
		if _, ok := value(ss, name, "pid", fq, "comm", "series-finq", "container", "", "pod", "", "namespace", ""); !ok {
			t.Errorf("no %s for pid %s with the expected labels", name, fq)
		}
	}
	if v, ok := value(ss, "memsight_finding_active", "pid", fq, "kind", "finalizer_stall"); !ok || v != 0 {
		t.Errorf("memsight_finding_active{kind=finalizer_stall} = %v (present %v), want 0", v, ok)
	}
	if v, ok := value(ss, "memsight_process_rss_bytes", "pid", strconv.Itoa(targets[2].Pid)); !ok || v <= 0 {
		t.Errorf("idle (%s PIE): rss %v (present %v)", testutil.GoNext, v, ok)
	}
	// How each binary was built: on memsight_process_info only.
	for _, c := range []struct {
		pid            int
		goVersion, pie string
	}{{targets[0].Pid, testutil.GoInstalled, "false"}, {targets[2].Pid, testutil.GoNext, "true"}} {
		if v, ok := value(ss, "memsight_process_info", "pid", strconv.Itoa(c.pid), "go_version", c.goVersion, "pie", c.pie, "stripped", "false"); !ok || v != 1 {
			t.Errorf("memsight_process_info{pid=%d,go_version=%s,pie=%s,stripped=false} = %v (present %v)", c.pid, c.goVersion, c.pie, v, ok)
		}
	}
	for _, sr := range ss {
		if _, ok := sr.labels["go_version"]; ok && sr.name != "memsight_process_info" {
			t.Errorf("%s carries go_version: only memsight_process_info should", sr.name)
			break
		}
	}

	// The API: one process's sample, in the schema of attach -o json.
	code, body := a.get(t, "/api/v1/processes/"+fq)
	var s model.Sample
	if code != http.StatusOK || json.Unmarshal(body, &s) != nil || s.PID != targets[0].Pid || s.GoVersion != testutil.GoInstalled || s.RSSBytes == 0 {
		t.Errorf("/api/v1/processes/%s: %d %s", fq, code, body)
	}
	for path, want := range map[string]int{"/api/v1/processes/999999999": 404, "/api/v1/processes/x": 400, "/api/v1/findings": 200, "/healthz": 200} {
		if code, body := a.get(t, path); code != want {
			t.Errorf("GET %s: %d %s, want %d", path, code, body, want)
		}
	}
	if code, _ := a.request(t, http.MethodPost, "/api/v1/processes"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/processes: %d, want 405", code)
	}

	// A killed target's series disappear; its sibling keeps its own.
	killed := time.Now()
	_ = targets[0].Signal(syscall.SIGKILL)
	a.waitFor(t, 2*time.Second, "the killed target's series to disappear", func() bool {
		return pidSeries(a.scrape(t), targets[0].Pid) == 0
	})
	t.Logf("series of the killed pid gone %v after SIGKILL", time.Since(killed).Round(time.Millisecond))
	ss = a.scrape(t)
	if pidSeries(ss, targets[1].Pid) == 0 {
		t.Error("the sibling process lost its series")
	}
	_ = targets[2].Signal(syscall.SIGKILL)
	a.waitFor(t, 2*time.Second, "the idle target's series to disappear", func() bool {
		return pidSeries(a.scrape(t), targets[2].Pid) == 0
	})

	// SIGTERM: detach everything, exit 0.
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit within 10s of SIGTERM")
	}
	if a.err != nil {
		t.Fatalf("agent exit after SIGTERM: %v", a.err)
	}
	if !strings.Contains(a.stderrText(), "detached from every process") {
		t.Errorf("no detach line in:\n%s", a.stderrText())
	}
}

// TestAgentFinalizerStall: a target whose finalizer blocks is reported as
// memsight_finding_active{kind="finalizer_stall"} 1 and in /api/v1/findings.
func TestAgentFinalizerStall(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "stall-finq")
	a := startAgent(t, "--include-comm", "^stall-", "--interval", "500ms")
	tg := testutil.StartTarget(t, finq, "-block-after", "1s")
	pid := strconv.Itoa(tg.Pid)
	took := a.waitFor(t, 15*time.Second, "finalizer_stall", func() bool {
		v, _ := value(a.scrape(t), "memsight_finding_active", "pid", pid, "kind", "finalizer_stall")
		return v == 1
	})
	t.Logf("finalizer_stall active %v after the target started (blocks after 1s; threshold 2s)", took.Round(time.Millisecond))
	ss := a.scrape(t)
	if v, _ := value(ss, "memsight_finalizer_running_seconds", "pid", pid); v < 2 {
		t.Errorf("memsight_finalizer_running_seconds = %v, want ≥ 2", v)
	}
	if v, _ := value(ss, "memsight_finding_active", "pid", pid, "kind", "finalizer_backlog"); v != 0 && v != 1 {
		t.Errorf("finalizer_backlog = %v", v)
	}
	_, body := a.get(t, "/api/v1/findings")
	var fl struct {
		Findings []struct {
			PID     int    `json:"pid"`
			Kind    string `json:"kind"`
			Summary string `json:"summary"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(body, &fl); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fl.Findings {
		if f.PID == tg.Pid && f.Kind == "finalizer_stall" && strings.Contains(f.Summary, "main.slowFinalizer") {
			found = true
		}
	}
	if !found {
		t.Errorf("/api/v1/findings has no finalizer_stall naming main.slowFinalizer for pid %d: %s", tg.Pid, body)
	}
}

// TestAgentShortLivedProcesses: 200 Go processes that exit within 100 ms
// (as fast as the agent can see them, or faster) break nothing: a steady
// target keeps its series, every attachment of the short-lived binary goes,
// and the agent's RSS and fds stay bounded.
func TestAgentShortLivedProcesses(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	blink := copyTarget(t, "blink", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "short-blink")
	steady := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "short-steady")
	a := startAgent(t, "--include-comm", "^short-", "--interval", "200ms")
	st := testutil.StartTarget(t, steady)
	a.waitFor(t, 2*time.Second, "the steady target's series", func() bool {
		return pidSeries(a.scrape(t), st.Pid) > 0
	})
	// Warm up: one short-lived process, so the binary's inspection is not
	// counted as growth.
	if out, err := exec.Command(blink, "-after", "300ms").CombinedOutput(); err != nil {
		t.Fatalf("blink: %v %s", err, out)
	}
	time.Sleep(300 * time.Millisecond)
	rss0, fds0 := agentRSS(t, a), countFDs(t, a.cmd.Process.Pid)

	const total, parallel = 200, 20
	var wg sync.WaitGroup
	errs := make(chan error, total)
	start := time.Now()
	for w := range parallel {
		wg.Go(func() {
			for i := w; i < total; i += parallel {
				after := time.Duration(i%10+1) * 10 * time.Millisecond // 10..100 ms
				if out, err := exec.Command(blink, "-after", after.String()).CombinedOutput(); err != nil {
					errs <- fmt.Errorf("blink %d: %v %s", i, err, out)
				}
			}
		})
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	scrapes := 0
	for done := false; !done; {
		select {
		case <-allDone:
			done = true
		case <-time.After(100 * time.Millisecond):
		}
		if pidSeries(a.scrape(t), st.Pid) == 0 {
			t.Fatal("the steady target lost its series during the churn")
		}
		scrapes++
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d short-lived processes in %v (%d scrapes meanwhile)", total, time.Since(start).Round(time.Millisecond), scrapes)
	a.waitFor(t, 3*time.Second, "only the steady process watched", func() bool {
		ss := a.scrape(t)
		w, _ := value(ss, "memsight_agent_watched_processes")
		b, _ := value(ss, "memsight_agent_attached_binaries")
		return w == 1 && b == 0 // the default set attaches nothing
	})
	ss := a.scrape(t)
	for _, r := range []string{"probe", "runtime", "panic"} {
		if v, _ := value(ss, "memsight_agent_attach_errors_total", "reason", r); v != 0 {
			t.Errorf("attach errors (%s): %v", r, v)
		}
	}
	if pidSeries(ss, st.Pid) == 0 {
		t.Error("the steady target has no series")
	}
	rss1, fds1 := agentRSS(t, a), countFDs(t, a.cmd.Process.Pid)
	t.Logf("agent RSS %.1f MiB before, %.1f MiB after; fds %d before, %d after; %d processes watched at some point",
		float64(rss0)/(1<<20), float64(rss1)/(1<<20), fds0, fds1, strings.Count(a.stderrText(), "msg=\"watching process\"")-1)
	if rss1 > rss0+24<<20 {
		t.Errorf("agent RSS grew from %d to %d bytes", rss0, rss1)
	}
	if fds1 > fds0+4 {
		t.Errorf("agent fds grew from %d to %d", fds0, fds1)
	}
}

func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestAgentKilledLeavesNoUprobe: SIGKILL of the agent leaves none of its
// uprobe links behind (uprobe_multi links belong to the agent's fds).
func TestAgentKilledLeavesNoUprobe(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	idle := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "kill-idle")
	a := startAgent(t, "--include-comm", "^kill-", "--trace-finalizers") // by default nothing is attached
	tg := testutil.StartTarget(t, idle)
	a.waitFor(t, 2*time.Second, "the target watched", func() bool { return pidSeries(a.scrape(t), tg.Pid) > 0 })
	ids := uprobeLinks(t, a.cmd.Process.Pid, idle)
	if len(ids) == 0 {
		t.Fatalf("the agent holds no uprobe link on %s", idle)
	}
	if seen := attachedLinks(t, ids); len(seen) != len(ids) {
		t.Fatalf("the kernel's link list has %d of the agent's %d uprobe links before the kill", len(seen), len(ids))
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	var left []ebpflink.ID
	deadline := time.Now().Add(2 * time.Second)
	for {
		left = attachedLinks(t, ids)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Fatalf("links %v of the killed agent are still attached", left)
	}
	t.Logf("the agent's %d uprobe links on %s vanished with it", len(ids), filepath.Base(idle))
	if err := tg.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("target after the agent was killed: %v", err)
	}
}

// attachedLinks returns those of ids that are still BPF links of the kernel,
// walking every link ID (BPF_LINK_GET_NEXT_ID) through cilium/ebpf as
// `bpftool link show` does, so that the check needs no tool installed.
func attachedLinks(t *testing.T, ids map[ebpflink.ID]bool) []ebpflink.ID {
	t.Helper()
	var it ebpflink.Iterator
	defer it.Close()
	var left []ebpflink.ID
	for it.Next() {
		if ids[it.ID] {
			left = append(left, it.ID)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("listing the kernel's BPF links: %v", err)
	}
	return left
}

// uprobeLinks returns the IDs of the uprobe_multi links process pid holds
// on path, from its fdinfo.
func uprobeLinks(t *testing.T, pid int, path string) map[ebpflink.ID]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`link_id:\s+(\d+)`)
	ids := map[ebpflink.ID]bool{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !strings.Contains(string(b), "link_type:\tuprobe_multi") || !strings.Contains(string(b), path) {
			continue
		}
		if m := re.FindSubmatch(b); m != nil {
			id, _ := strconv.ParseUint(string(m[1]), 10, 32)
			ids[ebpflink.ID(id)] = true
		}
	}
	return ids
}

// TestAgentLimits: --max-processes leaves the extra process out (logged,
// counted) until a slot frees; --min-process-age delays attaching.
func TestAgentLimits(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	v := testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}
	capIdle := copyTarget(t, "idle", v, "cap-idle")
	ageIdle := copyTarget(t, "idle", v, "age-idle")

	t.Run("max-processes", func(t *testing.T) {
		t.Parallel()
		a := startAgent(t, "--include-comm", "^cap-", "--max-processes", "1")
		t1 := testutil.StartTarget(t, capIdle)
		a.waitFor(t, 2*time.Second, "the first target watched", func() bool { return pidSeries(a.scrape(t), t1.Pid) > 0 })
		t2 := testutil.StartTarget(t, capIdle)
		a.waitFor(t, 2*time.Second, "the second target over the limit", func() bool {
			v, _ := value(a.scrape(t), "memsight_agent_skipped_processes", "reason", "max_processes")
			return v == 1
		})
		if p := agentProcesses(t, a)[t2.Pid]; p["state"] != "max_processes" {
			t.Errorf("second target in the API: %v", p)
		}
		if !strings.Contains(a.stderrText(), "--max-processes reached") {
			t.Errorf("no --max-processes log line:\n%s", a.stderrText())
		}
		_ = t1.Signal(syscall.SIGKILL)
		took := a.waitFor(t, 2*time.Second, "the second target watched once the first exited", func() bool {
			return pidSeries(a.scrape(t), t2.Pid) > 0
		})
		t.Logf("second target watched %v after the first was killed", took.Round(time.Millisecond))
	})
	t.Run("min-process-age", func(t *testing.T) {
		t.Parallel()
		a := startAgent(t, "--include-comm", "^age-", "--min-process-age", "1500ms")
		tg := testutil.StartTarget(t, ageIdle)
		time.Sleep(700 * time.Millisecond)
		ss := a.scrape(t)
		if pidSeries(ss, tg.Pid) > 0 {
			t.Fatal("a 0.7 s old process is watched despite --min-process-age 1.5s")
		}
		if v, _ := value(ss, "memsight_agent_skipped_processes", "reason", "min_process_age"); v < 1 {
			t.Errorf("skipped{min_process_age} = %v, want ≥ 1", v)
		}
		a.waitFor(t, 3*time.Second, "the target watched once old enough", func() bool { return pidSeries(a.scrape(t), tg.Pid) > 0 })
	})
}
