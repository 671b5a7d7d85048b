package prom

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/memsight/memsight/pkg/model"
)

// withPausesAndPrograms is the fixture with a pause histogram for pid 100,
// BPF program statistics and exec events.
func withPausesAndPrograms() model.Snapshot {
	snap := fixture()
	gc := *snap.Processes[0].Sample.GC
	gc.PauseHistogram = &model.PauseHistogram{
		UpperBoundsSeconds: []float64{1e-5, 1e-4, 1e-3},
		CumulativeCounts:   []uint64{1, 4, 4},
		Count:              5, SumSeconds: 0.0125, Missed: 2,
	}
	s := *snap.Processes[0].Sample
	s.GC = &gc
	snap.Processes[0].Sample = &s
	snap.Stats.ExecEvents = true
	snap.Stats.Programs = map[string]model.ProgramStats{
		"queuefinalizer": {Runs: 30, RunTime: 1500 * time.Nanosecond},
		"process_exec":   {Runs: 0},
	}
	return snap
}

// TestPauseAndProgramMetrics: the pause histogram of a process (count,
// sum, cumulative buckets with +Inf), the BPF programs' runs and run time,
// and the exec-events gauge.
func TestPauseAndProgramMetrics(t *testing.T) {
	e := newExporter(t, &fakeSource{snap: withPausesAndPrograms()})
	const l = `comm="svc",container="c0ffee",namespace="",pid="100",pod="pod-1"`
	want := `
# HELP memsight_gc_stw_pause_seconds Stop-the-world pause of each GC cycle that ended since memsight started watching the process, as runtime.MemStats.PauseNs (absent when unknown).
# TYPE memsight_gc_stw_pause_seconds histogram
memsight_gc_stw_pause_seconds_bucket{` + l + `,le="1e-05"} 1
memsight_gc_stw_pause_seconds_bucket{` + l + `,le="0.0001"} 4
memsight_gc_stw_pause_seconds_bucket{` + l + `,le="0.001"} 4
memsight_gc_stw_pause_seconds_bucket{` + l + `,le="+Inf"} 5
memsight_gc_stw_pause_seconds_sum{` + l + `} 0.0125
memsight_gc_stw_pause_seconds_count{` + l + `} 5
# HELP memsight_bpf_program_runs_total Runs of each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics, which need CAP_SYS_ADMIN).
# TYPE memsight_bpf_program_runs_total counter
memsight_bpf_program_runs_total{program="process_exec"} 0
memsight_bpf_program_runs_total{program="queuefinalizer"} 30
# HELP memsight_bpf_program_run_seconds_total Time spent running each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics).
# TYPE memsight_bpf_program_run_seconds_total counter
memsight_bpf_program_run_seconds_total{program="process_exec"} 0
memsight_bpf_program_run_seconds_total{program="queuefinalizer"} 1.5e-06
# HELP memsight_agent_exec_events 1 when new processes are found by BPF exec events, 0 when only by rescanning /proc.
# TYPE memsight_agent_exec_events gauge
memsight_agent_exec_events 1
`
	names := []string{"memsight_gc_stw_pause_seconds", "memsight_bpf_program_runs_total",
		"memsight_bpf_program_run_seconds_total", "memsight_agent_exec_events"}
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	problems, err := testutil.GatherAndLint(e.Registry(), names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestNoProgramMetricsWithoutStats: without the kernel's BPF statistics
// and without a pause histogram there are no such series (unknown is not
// 0); exec events off is a 0.
func TestNoProgramMetricsWithoutStats(t *testing.T) {
	e := newExporter(t, &fakeSource{snap: fixture()})
	for name, n := range map[string]int{
		"memsight_gc_stw_pause_seconds": 0, "memsight_bpf_program_runs_total": 0,
		"memsight_bpf_program_run_seconds_total": 0, "memsight_agent_exec_events": 1,
	} {
		if got, err := testutil.GatherAndCount(e.Registry(), name); err != nil || got != n {
			t.Errorf("%s: %d series (%v), want %d", name, got, err, n)
		}
	}
	want := "# HELP memsight_agent_exec_events 1 when new processes are found by BPF exec events, 0 when only by rescanning /proc.\n# TYPE memsight_agent_exec_events gauge\nmemsight_agent_exec_events 0\n"
	if err := testutil.GatherAndCompare(e.Registry(), strings.NewReader(want), "memsight_agent_exec_events"); err != nil {
		t.Error(err)
	}
}
