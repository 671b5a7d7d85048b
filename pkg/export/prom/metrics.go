package prom

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "memsight"

// descs are the descriptions of every metric memsight exports.
type descs struct {
	info, rss, fds, finQueue, finQueued, finExecuted, finRunning, cleanupQueue *prometheus.Desc
	gcCycles, heapInuse, heapLive, heapGoal, memLimit, goroutines              *prometheus.Desc
	finding, severity, gcPauses                                                *prometheus.Desc
	leaked, leakedPinned                                                       *prometheus.Desc

	build, watched, binaries, attachErrors, skipped, sampleErrors, eventsLost, ready *prometheus.Desc
	execEvents, programRuns, programRunTime                                          *prometheus.Desc
}

// processLabels are the labels of every per-process series. container and
// pod are the container's and the pod's names when Kubernetes enrichment
// knows them (agent.Config.Pods), else the container ID and pod UID of the
// cgroup; namespace is empty until then. How the binary was built is on
// memsight_process_info only.
var processLabels = []string{"pid", "comm", "container", "pod", "namespace"}

// infoLabels are memsight_process_info's labels after processLabels.
var infoLabels = []string{"go_version", "pie", "stripped", "cgo"}

func newDescs() *descs {
	proc := func(sub, name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, sub, name), help,
			append(append([]string{}, processLabels...), extra...), nil)
	}
	self := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "agent", name), help, labels, nil)
	}
	bpf := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "bpf", name), help, []string{"program"}, nil)
	}
	return &descs{
		info: proc("process", "info", "1 for every watched Go process, with how its executable was built: go_version (the toolchain, e.g. go1.26.8), "+
			"pie, stripped (no symbol table) and cgo (runtime/cgo linked in) as true or false, empty when unknown. Join it on pid to break other series down by these.", infoLabels...),
		rss:          proc("process", "rss_bytes", "Resident set size of the process (VmRSS)."),
		fds:          proc("process", "open_fds", "Open file descriptors of the process, the entries of /proc/PID/fd (absent when unreadable)."),
		finQueue:     proc("finalizer", "queue_length", "Finalizers queued and not yet run, as the runtime counts them (Go 1.25+; absent when unknown)."),
		finQueued:    proc("finalizers", "queued_total", "Finalizers queued to run since memsight started watching the process, from the runtime's own counter (Go 1.25+, or with --trace-finalizers; absent when unknown)."),
		finExecuted:  proc("finalizers", "executed_total", "Finalizers run since memsight started watching the process, from the runtime's own counter, which counts a block of up to 101 finalizers once it is done (Go 1.25+, or with --trace-finalizers: each return; absent when unknown)."),
		finRunning:   proc("finalizer", "running_seconds", "How long the finalizer running now has been running (a lower bound when it started before memsight watched); 0 when none runs."),
		cleanupQueue: proc("cleanup", "queue_length", "runtime.AddCleanup cleanups queued and not yet run (Go 1.25+; absent when unknown)."),
		gcCycles:     proc("gc", "cycles_total", "Completed GC cycles of the process, as runtime.MemStats.NumGC (absent when unknown)."),
		heapInuse:    proc("go_heap", "inuse_bytes", "Bytes in in-use heap spans, as runtime.MemStats.HeapInuse (absent when unknown)."),
		heapLive:     proc("go_heap", "live_bytes", "Heap bytes marked live by the last GC cycle, as /gc/heap/live:bytes (absent when unknown)."),
		heapGoal:     proc("go_heap", "goal_bytes", "Heap size the next GC cycle is to start at, as /gc/heap/goal:bytes (absent when unknown)."),
		memLimit:     proc("go", "memory_limit_bytes", "The process's memory limit, GOMEMLIMIT or debug.SetMemoryLimit (absent when unknown or when no limit is set)."),
		goroutines:   proc("", "goroutines", "Goroutines of the process, as runtime.NumGoroutine (absent when unknown)."),
		finding:      proc("finding", "active", "1 while a finding of this kind is active for the process, else 0.", "kind"),
		severity: proc("finding", "severity", "Severity of the active finding of this kind: 1 warning, 2 critical; 0 while none is active. "+
			"A finding can escalate (a stall running 30 times --stall-threshold, RSS doubling within the hour).", "kind"),
		leaked: proc("goroutines", "leaked", "Goroutines the last goroutine-leak scan proved leaked: blocked on a channel or sync primitive that no live goroutine or global reaches "+
			"(present only with --leak-scan, once a scan finished)."),
		leakedPinned: proc("goroutines", "leaked_pinned_bytes", "Estimated bytes only the leaked goroutines keep alive: their stacks and the heap objects nothing live reaches "+
			"(present only with --leak-scan, once a scan finished)."),
		gcPauses: proc("gc", "stw_pause_seconds", "Stop-the-world pause of each GC cycle that ended since memsight started watching the process, as runtime.MemStats.PauseNs (absent when unknown)."),

		build: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "build_info"),
			"1, with the agent's version, VCS revision and Go version as labels.", []string{"version", "revision", "goversion"}, nil),
		watched:      self("watched_processes", "Go processes being watched."),
		binaries:     self("attached_binaries", "Executables with probes attached (one attachment each, shared by their processes)."),
		attachErrors: self("attach_errors_total", "Failed attaches to Go processes, by reason: permission, unsupported, probe, runtime, panic.", "reason"),
		skipped: self("skipped_processes", "Processes not watched now, by reason: max_processes (Go processes over --max-processes), "+
			"min_process_age (not yet inspected), excluded (left out by an exclude rule: comm, include_comm, cgroup, include_cgroup, "+
			"namespaces, include_namespaces or pod_selector), ignored (Go processes of pods annotated memsight.io/ignore=true).", "reason"),
		sampleErrors: self("sample_errors_total", "Samples of a watched process that failed."),
		eventsLost:   self("probe_events_lost_total", "Probe events lost because the ring buffer was full."),
		ready:        self("ready", "1 once the initial scan of the processes has been inspected."),
		execEvents:   self("exec_events", "1 when new processes are found by BPF exec events, 0 when only by rescanning /proc."),

		programRuns: bpf("program_runs_total",
			"Runs of each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics, which need CAP_SYS_ADMIN)."),
		programRunTime: bpf("program_run_seconds_total",
			"Time spent running each of memsight's BPF programs, over every process, since the agent started (absent without the kernel's BPF statistics)."),
	}
}

func (d *descs) all() []*prometheus.Desc {
	return []*prometheus.Desc{
		d.info, d.rss, d.fds, d.finQueue, d.finQueued, d.finExecuted, d.finRunning, d.cleanupQueue, d.gcCycles,
		d.heapInuse, d.heapLive, d.heapGoal, d.memLimit, d.goroutines, d.finding, d.severity, d.gcPauses,
		d.build, d.watched, d.binaries, d.attachErrors, d.skipped, d.sampleErrors, d.eventsLost, d.ready,
		d.execEvents, d.programRuns, d.programRunTime, d.leaked, d.leakedPinned,
	}
}
