package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestAgentPausesAndPrograms: once a target has run finalizers and GC
// cycles, the agent's scrape has its GC pause histogram (consistent with its
// sample in the API) and, with the opt-in per-object probes, the BPF
// programs' run counts and times, and says that exec events are on.
func TestAgentPausesAndPrograms(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "bpfst-finq")
	a := startAgent(t, "--include-comm", "^bpfst-", "--interval", "500ms", "--bpf-stats", "--trace-finalizers", "--overhead-budget", "0.5")
	tg := testutil.StartTarget(t, finq) // 200 finalizers/s, runtime.GC() every 200ms
	pid := strconv.Itoa(tg.Pid)
	var ss []series
	took := a.waitFor(t, 15*time.Second, "finalizers run and GC pauses counted", func() bool {
		ss = a.scrape(t)
		runs, _ := value(ss, "memsight_bpf_program_runs_total", "program", "queuefinalizer")
		n, _ := value(ss, "memsight_gc_stw_pause_seconds_count", "pid", pid)
		return runs > 0 && n >= 3
	})
	t.Logf("queuefinalizer runs and 3 pauses in the histogram %v after the target started", took.Round(time.Millisecond))
	for _, p := range []string{"queuefinalizer", "finalizer_start", "finalizer_end", "setfinalizer"} {
		runs, ok := value(ss, "memsight_bpf_program_runs_total", "program", p)
		sec, _ := value(ss, "memsight_bpf_program_run_seconds_total", "program", p)
		if !ok || runs == 0 || sec <= 0 || sec/runs > 1e-4 {
			t.Errorf("program %s: %v runs (series: %v), %v s", p, runs, ok, sec)
		}
	}
	programs := 0
	for _, s := range ss {
		if s.name == "memsight_bpf_program_runs_total" {
			programs++
		}
	}
	if programs < 10 || programs > 20 {
		t.Errorf("%d memsight_bpf_program_runs_total series, want one per program (13)", programs)
	}
	if v, ok := value(ss, "memsight_agent_exec_events"); !ok || v != 1 {
		t.Errorf("memsight_agent_exec_events = %v (%v), want 1", v, ok)
	}
	count, _ := value(ss, "memsight_gc_stw_pause_seconds_count", "pid", pid)
	inf, _ := value(ss, "memsight_gc_stw_pause_seconds_bucket", "pid", pid, "le", "+Inf")
	sum, _ := value(ss, "memsight_gc_stw_pause_seconds_sum", "pid", pid)
	if inf != count || sum <= 0 || sum > count {
		t.Errorf("pause histogram: count %v, +Inf bucket %v, sum %v s", count, inf, sum)
	}

	// The API's sample carries the same histogram (maybe a later sample).
	code, body := a.get(t, fmt.Sprintf("/api/v1/processes/%d", tg.Pid))
	var s model.Sample
	if err := json.Unmarshal(body, &s); code != 200 || err != nil {
		t.Fatalf("/api/v1/processes/%d: %d %v", tg.Pid, code, err)
	}
	if s.GC == nil || s.GC.PauseHistogram == nil {
		t.Fatalf("no stw_pause_histogram in the API's sample: %s", body)
	}
	h := s.GC.PauseHistogram
	if float64(h.Count) < count || len(h.UpperBoundsSeconds) != 16 || h.CumulativeCounts[15] > h.Count {
		t.Errorf("API histogram %+v, scraped count %v", h, count)
	}
}
