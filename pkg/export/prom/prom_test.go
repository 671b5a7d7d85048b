package prom

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/memsight/memsight/pkg/model"
)

// fakeSource serves a fixed snapshot, which tests may change.
type fakeSource struct {
	mu   sync.Mutex
	snap model.Snapshot
}

func (f *fakeSource) Snapshot() model.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func i64(v int64) *int64 { return &v }

func u64(v uint64) *uint64 { return &v }

func fixture() model.Snapshot {
	full := &model.Sample{
		PID: 100, RSSBytes: 50 << 20,
		Finalizers: model.Finalizers{QueuedTotal: u64(30), ExecutedTotal: u64(20), QueueLength: i64(10),
			Running: &model.Running{Function: "main.f", Seconds: 4.5}},
		Cleanups:   model.Cleanups{QueueLength: i64(2)},
		GC:         &model.GC{CyclesTotal: 7},
		Heap:       &model.Heap{InuseBytes: 8 << 20, LiveBytes: 5 << 20, GoalBytes: 10 << 20, MemoryLimitBytes: math.MaxInt64},
		FDs:        model.FDs{Open: 12},
		Goroutines: &model.Goroutines{Total: 12, User: 9},
		Findings:   []model.Finding{{Kind: "finalizer_stall", Severity: "critical"}, {Kind: "new_kind", Severity: "warning"}},
	}
	bare := &model.Sample{PID: 200, RSSBytes: 1 << 20, FDs: model.FDs{Open: -1}}
	return model.Snapshot{
		Time: time.Unix(0, 0),
		Processes: []model.Process{
			{PID: 100, Comm: "svc", GoVersion: "go1.26.8", Build: &model.Build{PIE: true, Cgo: true}, ContainerID: "c0ffee", PodUID: "pod-1",
				State: model.StateWatching, Sample: full},
			{PID: 200, Comm: "old", GoVersion: "go1.24.1", State: model.StateWatching, Sample: bare},
			{PID: 300, Comm: "nosample", GoVersion: "go1.26.8", State: model.StateWatching},
			{PID: 400, Comm: "bad", GoVersion: "go1.19", State: model.StateUnsupported, Reason: "too old"},
		},
		Stats: model.Stats{
			Watched: 3, Binaries: 2, AttachErrors: map[string]uint64{"unsupported": 1, "other": 2},
			Skipped: map[string]int{"max_processes": 4, "min_process_age": 0, "excluded": 1}, Ready: true,
		},
	}
}

func newExporter(t *testing.T, src Source) *Exporter {
	t.Helper()
	e, err := New(Config{Source: src, FindingKinds: []string{"finalizer_stall", "cleanup_stall"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAgentMetrics: per-process series for watched, sampled processes only;
// unknown values have no series; finding kinds are 0 or 1.
func TestAgentMetrics(t *testing.T) {
	src := &fakeSource{snap: fixture()}
	e := newExporter(t, src)
	// testdata/agent_metrics.prom is the scrape expected of these families.
	want, err := os.ReadFile("testdata/agent_metrics.prom")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"memsight_finalizer_queue_length", "memsight_finalizer_running_seconds", "memsight_finding_active",
		"memsight_finding_severity", "memsight_process_info", "memsight_process_open_fds", "memsight_go_heap_live_bytes",
		"memsight_go_heap_goal_bytes", "memsight_go_memory_limit_bytes",
		"memsight_go_heap_inuse_bytes", "memsight_goroutines", "memsight_agent_attach_errors_total"}
	if err := testutil.GatherAndCompare(e.Registry(), bytes.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// 2 sampled processes: rss and running for both; queued and executed
	// totals, queue lengths, gc and heap and goroutines for the first (the
	// second, a go1.24 process, has no finalizer counters: unknown totals
	// have no series).
	for name, n := range map[string]int{
		"memsight_process_rss_bytes": 2, "memsight_finalizers_queued_total": 1, "memsight_finalizers_executed_total": 1,
		"memsight_cleanup_queue_length": 1, "memsight_gc_cycles_total": 1, "memsight_agent_watched_processes": 1,
		"memsight_agent_skipped_processes": 3, "memsight_agent_ready": 1, "memsight_build_info": 1,
	} {
		if got, err := testutil.GatherAndCount(e.Registry(), name); err != nil || got != n {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, n)
		}
	}
	// A process that exited (gone from the snapshot) has no series any more.
	src.mu.Lock()
	src.snap.Processes = src.snap.Processes[1:]
	src.mu.Unlock()
	if got, _ := testutil.GatherAndCount(e.Registry(), "memsight_process_rss_bytes"); got != 1 {
		t.Errorf("after pid 100 exited: %d rss series, want 1", got)
	}
}

// TestAgentMetricsLint runs promlint on every memsight metric.
func TestAgentMetricsLint(t *testing.T) {
	e := newExporter(t, &fakeSource{snap: fixture()})
	problems, err := testutil.GatherAndLint(e.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "memsight_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// TestAgentMetricsHandler serves the text format, with the self metrics of
// client_golang's process and Go collectors.
func TestAgentMetricsHandler(t *testing.T) {
	e := newExporter(t, &fakeSource{snap: fixture()})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", `memsight_process_rss_bytes{comm="svc"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("no %q in the scrape", want)
		}
	}
}

// TestAgentMetricsPodNames: with Kubernetes enrichment, container and pod
// are the names and namespace is set; without, the cgroup's IDs.
func TestAgentMetricsPodNames(t *testing.T) {
	snap := fixture()
	p := &snap.Processes[0]
	p.Pod, p.Namespace, p.Container = "web-7d9f", "shop", "app"
	e := newExporter(t, &fakeSource{snap: snap})
	want := `
# HELP memsight_process_rss_bytes Resident set size of the process (VmRSS).
# TYPE memsight_process_rss_bytes gauge
memsight_process_rss_bytes{comm="old",container="",namespace="",pid="200",pod=""} 1.048576e+06
memsight_process_rss_bytes{comm="svc",container="app",namespace="shop",pid="100",pod="web-7d9f"} 5.24288e+07
`
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), "memsight_process_rss_bytes"); err != nil {
		t.Error(err)
	}
}

// TestMemoryLimitAndBuildInfo: a memory limit is exported when one is set
// (math.MaxInt64 is none: no series), and memsight_build_info carries the
// agent's version, "unknown" for what is not known.
func TestMemoryLimitAndBuildInfo(t *testing.T) {
	snap := fixture()
	s := *snap.Processes[0].Sample
	h := *s.Heap
	h.MemoryLimitBytes = 400 << 20
	s.Heap = &h
	snap.Processes[0].Sample = &s
	e, err := New(Config{Source: &fakeSource{snap: snap}, Build: BuildInfo{Version: "v1.2.3", GoVersion: "go1.26.8"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP memsight_build_info 1, with the agent's version, VCS revision and Go version as labels.
# TYPE memsight_build_info gauge
memsight_build_info{goversion="go1.26.8",revision="unknown",version="v1.2.3"} 1
# HELP memsight_go_memory_limit_bytes The process's memory limit, GOMEMLIMIT or debug.SetMemoryLimit (absent when unknown or when no limit is set).
# TYPE memsight_go_memory_limit_bytes gauge
memsight_go_memory_limit_bytes{comm="svc",container="c0ffee",namespace="",pid="100",pod="pod-1"} 4.194304e+08
`
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), "memsight_build_info", "memsight_go_memory_limit_bytes"); err != nil {
		t.Error(err)
	}
}
