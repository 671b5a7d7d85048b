package observe

import "time"

// Sample is what memsight knows about one process at one instant. It is the
// schema of `memsight attach -o json` (one object per interval) and of the
// agent's API. Counters named *_total count since memsight attached.
type Sample struct {
	Time       time.Time  `json:"time"`
	PID        int        `json:"pid"`
	Comm       string     `json:"comm,omitempty"`
	GoVersion  string     `json:"go_version"`
	RSSBytes   uint64     `json:"rss_bytes"`
	RSS        RSS        `json:"rss"`
	Finalizers Finalizers `json:"finalizers"`
	Cleanups   Cleanups   `json:"cleanups"`
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
}

// Finalizers describes the finalizer queue and goroutine.
type Finalizers struct {
	// RegisteredTotal counts runtime.SetFinalizer calls (including clearing ones).
	RegisteredTotal uint64 `json:"registered_total"`
	QueuedTotal     uint64 `json:"queued_total"`
	ExecutedTotal   uint64 `json:"executed_total"`
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
	QueuedTotal   uint64   `json:"queued_total"`
	ExecutedTotal uint64   `json:"executed_total"`
	QueueLength   *int64   `json:"queue_length"`
	Running       *Running `json:"running"`
}

// Running is a finalizer or cleanup executing now.
type Running struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	// Seconds it has been running. AtLeast is set when the start was not
	// observed (memsight attached later) and Seconds is a lower bound.
	Seconds float64 `json:"seconds"`
	AtLeast bool    `json:"at_least,omitempty"`
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

// Finding is a diagnosis: something is wrong with the process's memory.
type Finding struct {
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Since    time.Time      `json:"since"`
	Summary  string         `json:"summary"`
	Evidence map[string]any `json:"evidence"`
}
