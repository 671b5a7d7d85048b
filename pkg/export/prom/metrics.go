package prom

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "memsight"

// descs are the descriptions of every metric memsight exports.
type descs struct {
	rss, finQueue, finQueued, finExecuted, finRunning, cleanupQueue *prometheus.Desc
	gcCycles, heapInuse, goroutines, finding                        *prometheus.Desc
	gcPauses                                                        *prometheus.Desc

	watched, binaries, attachErrors, skipped, sampleErrors, eventsLost, ready *prometheus.Desc
	execEvents, programRuns, programRunTime                                   *prometheus.Desc
}

func newDescs() *descs {
	// The labels of every per-process series. container and pod are the
	// container's and the pod's names when Kubernetes enrichment knows them
	// (agent.Config.Pods), else the container ID and pod UID of the cgroup;
	// namespace is empty until then.
	processLabels := []string{"pid", "comm", "go_version", "container", "pod", "namespace"}
	proc := func(sub, name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, sub, name), help,
			append(append([]string{}, processLabels...), extra...), nil)
	}
	self := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "agent", name), help, labels, nil)
	}
	return &descs{
		rss:          proc("process", "rss_bytes", "Resident set size of the process (VmRSS)."),
		finQueue:     proc("finalizer", "queue_length", "Finalizers queued and not yet run, as the runtime counts them (Go 1.25+; absent when unknown)."),
		finQueued:    proc("finalizers", "queued_total", "Finalizers queued to run since memsight started watching the process."),
		finExecuted:  proc("finalizers", "executed_total", "Finalizers that returned since memsight started watching the process."),
		finRunning:   proc("finalizer", "running_seconds", "How long the finalizer running now has been running (a lower bound when it started before memsight watched); 0 when none runs."),
		cleanupQueue: proc("cleanup", "queue_length", "runtime.AddCleanup cleanups queued and not yet run (Go 1.25+; absent when unknown)."),
		gcCycles:     proc("gc", "cycles_total", "Completed GC cycles of the process, as runtime.MemStats.NumGC (absent when unknown)."),
		heapInuse:    proc("go_heap", "inuse_bytes", "Bytes in in-use heap spans, as runtime.MemStats.HeapInuse (absent when unknown)."),
		goroutines:   proc("", "goroutines", "Goroutines of the process, as runtime.NumGoroutine (absent when unknown)."),
		finding:      proc("finding", "active", "1 while a finding of this kind is active for the process, else 0.", "kind"),
		gcPauses:     proc("gc", "stw_pause_seconds", "Stop-the-world pause of each GC cycle that ended since memsight started watching the process, as runtime.MemStats.PauseNs (absent when unknown)."),

		watched:      self("watched_processes", "Go processes being watched."),
		binaries:     self("attached_binaries", "Executables with probes attached (one attachment each, shared by their processes)."),
		attachErrors: self("attach_errors_total", "Failed attaches to Go processes, by reason.", "reason"),
		skipped:      self("skipped_processes", "Processes not watched now, by reason: max_processes (Go processes over --max-processes), min_process_age (not yet inspected), excluded (--exclude-comm, --include-comm), ignored (pods annotated memsight.io/ignore=true).", "reason"),
		sampleErrors: self("sample_errors_total", "Samples of a watched process that failed."),
		eventsLost:   self("probe_events_lost_total", "Probe events lost because the ring buffer was full."),
		ready:        self("ready", "1 once the initial scan of the processes has been inspected."),
		execEvents:   self("exec_events", "1 when new processes are found by BPF exec events, 0 when only by rescanning /proc."),

		programRuns: prometheus.NewDesc(prometheus.BuildFQName(namespace, "bpf", "program_runs_total"),
			"Runs of each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics, which need CAP_SYS_ADMIN).", []string{"program"}, nil),
		programRunTime: prometheus.NewDesc(prometheus.BuildFQName(namespace, "bpf", "program_run_seconds_total"),
			"Time spent running each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics).", []string{"program"}, nil),
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.rss, d.finQueue, d.finQueued, d.finExecuted, d.finRunning, d.cleanupQueue, d.gcCycles, d.heapInuse,
		d.goroutines, d.finding, d.gcPauses, d.watched, d.binaries, d.attachErrors, d.skipped, d.sampleErrors, d.eventsLost, d.ready,
		d.execEvents, d.programRuns, d.programRunTime,
	}
}
