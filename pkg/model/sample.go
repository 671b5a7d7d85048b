package model

import "time"

// Sample is what memsight knows about one process at one instant. It is the
// schema of `memsight attach -o json` (one object per interval) and of the
// agent's API. Counters named *_total count since memsight attached; a
// value that cannot be known is null and listed in Unknown.
type Sample struct {
	Time       time.Time  `json:"time"`
	PID        int        `json:"pid"`
	Comm       string     `json:"comm,omitempty"`
	GoVersion  string     `json:"go_version"`
	RSSBytes   uint64     `json:"rss_bytes"`
	RSS        RSS        `json:"rss"`
	Finalizers Finalizers `json:"finalizers"`
	Cleanups   Cleanups   `json:"cleanups"`
	// GC, Heap and Goroutines are nil when unknown (Unknown says why).
	GC         *GC         `json:"gc"`
	Heap       *Heap       `json:"heap"`
	Goroutines *Goroutines `json:"goroutines"`
	FDs        FDs         `json:"fds"`
	// Alloc is set only with --alloc-probes.
	Alloc *Alloc `json:"alloc,omitempty"`
	// Trace is set only with the opt-in per-object or per-GC probes
	// (--trace-finalizers, --trace-gc).
	Trace *Trace `json:"trace,omitempty"`
	// GoroutineLeaks is the last goroutine-leak verdict; set only with
	// observe.AttachConfig.Leaks (--leak-scan).
	GoroutineLeaks *GoroutineLeaks `json:"goroutine_leaks,omitempty"`
	// Findings are filled in by the detectors (pkg/detect).
	Findings []Finding `json:"findings"`
	// Unknown lists values that could not be determined, with the reason.
	Unknown map[string]string `json:"unknown,omitempty"`
}

// RSS is the resident set of the process, from /proc.
type RSS struct {
	AnonBytes  uint64 `json:"anon_bytes"`
	FileBytes  uint64 `json:"file_bytes"`
	ShmemBytes uint64 `json:"shmem_bytes"`
	HWMBytes   uint64 `json:"hwm_bytes"`
	Threads    int    `json:"threads"`
	// SlopeBytesPerHour is the least-squares growth of RSS over the
	// detector's window, R2 its coefficient of determination; nil until
	// enough samples.
	SlopeBytesPerHour *float64 `json:"slope_bytes_per_hour"`
	R2                *float64 `json:"r2,omitempty"`
}

// GC is the garbage collector's state, as the runtime counts it.
type GC struct {
	// CyclesTotal is memstats.numgc (absolute, as runtime.NumGC / MemStats.NumGC).
	CyclesTotal uint64 `json:"cycles_total"`
	// STWPauseSecondsTotal is memstats.pause_total_ns (MemStats.PauseTotalNs).
	STWPauseSecondsTotal float64 `json:"stw_pause_seconds_total"`
	// STWPauseP99Seconds is the 99th percentile of the last (up to 256) GC pauses.
	STWPauseP99Seconds float64 `json:"stw_pause_p99_seconds"`
	LastPauseSeconds   float64 `json:"last_pause_seconds"`
	// CyclesSinceAttach counts the cycles that ended since attach (numgc).
	CyclesSinceAttach uint64 `json:"cycles_since_attach"`
	// STWPausesSinceAttach counts every stop-the-world pause since attach,
	// GC or not; only the per-GC probes (--trace-gc) see the others, so it
	// is null without them.
	STWPausesSinceAttach *uint64 `json:"stw_pauses_since_attach"`
	// GCPercent is GOGC (-1: off).
	GCPercent int64 `json:"gc_percent"`
	// PauseHistogram is the distribution of the STW pause totals of the
	// cycles that ended since attach.
	PauseHistogram *PauseHistogram `json:"stw_pause_histogram"`
}

// Heap is the Go heap, as the runtime counts it.
type Heap struct {
	InuseBytes       uint64 `json:"inuse_bytes"`        // MemStats.HeapInuse
	LiveBytes        uint64 `json:"live_bytes"`         // marked at the last GC
	GoalBytes        uint64 `json:"goal_bytes"`         // next GC target
	MemoryLimitBytes int64  `json:"memory_limit_bytes"` // GOMEMLIMIT (math.MaxInt64: none)
	TotalAllocBytes  uint64 `json:"total_alloc_bytes"`
	TotalFreeBytes   uint64 `json:"total_free_bytes"`
	// SlopeBytesPerHour is the least-squares growth of InuseBytes.
	SlopeBytesPerHour *float64 `json:"slope_bytes_per_hour"`
}

// Goroutines is a census of the process's goroutines, read from memory.
type Goroutines struct {
	// Total counts live goroutines (NumGoroutine plus system goroutines);
	// User excludes the runtime's system goroutines, as NumGoroutine does.
	Total            int            `json:"total"`
	User             int            `json:"user"`
	ByStatus         map[string]int `json:"by_status"`
	ByWaitReason     map[string]int `json:"by_wait_reason"`
	TopCreationSites []SiteCount    `json:"top_creation_sites"`
	// SlopePerHour is the least-squares growth of Total.
	SlopePerHour *float64 `json:"slope_per_hour"`
	// Time is when the census was taken: the agent repeats its last
	// census between two (every --slow-interval, or sooner when the
	// runtime allocates new goroutines).
	Time time.Time `json:"time"`
}

// SiteCount is how many goroutines one go statement created.
type SiteCount struct {
	Function string `json:"function"` // the function containing the go statement
	File     string `json:"file"`
	Line     int    `json:"line"`
	Count    int    `json:"count"`
	// WaitReason is the most common wait reason among them.
	WaitReason string `json:"wait_reason,omitempty"`
}

// FDs are the process's open file descriptors.
type FDs struct {
	Open         int      `json:"open"` // -1 when unreadable
	SlopePerHour *float64 `json:"slope_per_hour"`
}

// Finalizers describes the finalizer queue and goroutine.
type Finalizers struct {
	// RegisteredTotal counts runtime.SetFinalizer calls (including
	// clearing ones); the runtime keeps no such count, so only the
	// per-object probes (--trace-finalizers) give it: null without them.
	RegisteredTotal *uint64 `json:"registered_total"`
	// QueuedTotal and ExecutedTotal are the runtime's own counters
	// (finqueued, finexecuted: Go 1.25+) since attach; executed grows per
	// block of finalizers. Before 1.25 only --trace-finalizers counts them.
	QueuedTotal   *uint64 `json:"queued_total"`
	ExecutedTotal *uint64 `json:"executed_total"`
	// QueueLength is the number of queued finalizers not yet run, as the
	// runtime counts it (finqueued - finexecuted); nil when unknown.
	QueueLength *int64 `json:"queue_length"`
	// Running is the finalizer executing now, nil when none.
	Running *Running `json:"running"`
	// Goroutine is the finalizer goroutine's state, when readable.
	Goroutine *GoroutineState `json:"goroutine,omitempty"`
}

// Cleanups describes the runtime.AddCleanup queue (Go 1.24+).
type Cleanups struct {
	// QueuedTotal and ExecutedTotal count since attach, from the runtime's
	// counters (Go 1.25+; before, cleanups share the finalizer queue).
	QueuedTotal   *uint64  `json:"queued_total"`
	ExecutedTotal *uint64  `json:"executed_total"`
	QueueLength   *int64   `json:"queue_length"`
	Running       *Running `json:"running"`
}

// Running is a finalizer or cleanup executing now.
type Running struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	// Seconds it has been running. AgeSource says how it is known:
	// "sample" (the time since the first sample that saw this call: it
	// began after the sample before, so at most one interval more),
	// "probe" (its start was probed with --trace-finalizers: exact),
	// "waitsince" (its goroutine is blocked: the runtime's own wait time,
	// as its tracebacks print it — the end of the GC cycle before the one
	// that first saw it blocked, so it may overstate by up to one GC
	// interval; taken from the second sample that sees the call blocked),
	// or "attach" (running since before attach: Seconds is the time since
	// attach, a lower bound, and AtLeast is set).
	Seconds   float64 `json:"seconds"`
	AgeSource string  `json:"age_source"`
	AtLeast   bool    `json:"at_least,omitempty"`
	// State is "blocked" (parked, with WaitReason) or "running" (on a CPU).
	State      string `json:"state,omitempty"`
	WaitReason string `json:"wait_reason,omitempty"`
	TID        int    `json:"tid,omitempty"`
	// Stack is the goroutine's stack, innermost first, as
	// "function file:line" strings, inlined frames expanded.
	Stack []string `json:"stack"`
}

// GoroutineState is the state of a runtime goroutine (e.g. the finalizer goroutine).
type GoroutineState struct {
	Goid       uint64 `json:"goid"`
	Status     string `json:"status"`
	WaitReason string `json:"wait_reason,omitempty"`
	// WaitSeconds is how long it has been waiting, nil when unknown (the
	// runtime records it only at the first GC after the goroutine parked).
	WaitSeconds *float64 `json:"wait_seconds,omitempty"`
}

// PauseHistogram is the distribution of the process's per-cycle
// stop-the-world pause totals (MemStats.PauseNs: the sweep termination and
// mark termination pauses of one GC cycle) for the cycles that ended since
// memsight attached, taken from the runtime's ring of the last 256 pauses at
// every sample. It is cumulative, like a Prometheus histogram.
type PauseHistogram struct {
	// UpperBoundsSeconds are the buckets' upper bounds (inclusive),
	// ascending; a last bucket, +Inf, is implicit. See observe.PauseBuckets.
	UpperBoundsSeconds []float64 `json:"upper_bounds_seconds"`
	// CumulativeCounts[i] counts the pauses ≤ UpperBoundsSeconds[i].
	CumulativeCounts []uint64 `json:"cumulative_counts"`
	// Count counts the pauses (the +Inf bucket); SumSeconds is their sum.
	Count      uint64  `json:"count"`
	SumSeconds float64 `json:"sum_seconds"`
	// Missed counts cycles whose pause the ring no longer held when sampled
	// (more than 255 cycles between two samples): they are not in Count.
	// Count + Missed is the cycles that ended since attach.
	Missed uint64 `json:"missed"`
}
