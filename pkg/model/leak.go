package model

import "time"

// GoroutineLeaks is the last goroutine-leak verdict of a process.
type GoroutineLeaks struct {
	// Time is when the scan finished.
	Time time.Time `json:"time"`
	// Leaked counts the leaked goroutines; BytesPinnedEstimate what only
	// they keep alive (their stacks and what they alone reach).
	Leaked              int      `json:"leaked"`
	BytesPinnedEstimate uint64   `json:"bytes_pinned_estimate"`
	Leaks               []Leak   `json:"leaks"`
	Mark                LeakMark `json:"mark"`
}

// LeakReport is the verdict of one scan (pkg/goruntime/leak): the leaked
// goroutines grouped by creation site and wait, and what the two marks
// cost. It is the schema of `memsight goroutines PID --leaks -o json`.
type LeakReport struct {
	Leaks []Leak   `json:"leaks"`
	Mark  LeakMark `json:"mark"`
	// Goroutines counts the live goroutines the marks read; Blocked those
	// blocked on a channel or sync primitive (the candidates).
	Goroutines int `json:"goroutines"`
	Blocked    int `json:"blocked"`
}

// Leak is a group of leaked goroutines: same go statement, same function,
// same wait.
type Leak struct {
	// CreationSite is the go statement: "pkg.fn (file:line)"; Function the
	// goroutine's function (what the runtime prints above "created by").
	CreationSite string `json:"creation_site"`
	Function     string `json:"function"`
	WaitReason   string `json:"wait_reason"`
	Count        int    `json:"count"`
	// OldestWaitSeconds is how long the longest-blocked of them has been
	// blocked at least (from g.waitsince, which the runtime sets at the
	// first GC that sees it blocked); null before any GC saw them.
	OldestWaitSeconds *float64 `json:"oldest_wait_seconds"`
	// Stack is one of them, innermost first: "function file:line".
	Stack []string `json:"stack"`
	// BytesPinnedEstimate counts what only these goroutines keep alive:
	// their stacks and the heap objects reachable from them and from
	// nothing live (shared objects are counted once, for the first group).
	BytesPinnedEstimate uint64 `json:"bytes_pinned_estimate"`
	// Goids lists the goroutine IDs (the first 64).
	Goids []uint64 `json:"goids"`
}

// LeakMark describes the marks of a scan.
type LeakMark struct {
	Marks         int     `json:"marks"`
	BytesRead     uint64  `json:"bytes_read"`
	Reads         uint64  `json:"reads"`
	ObjectsMarked uint64  `json:"objects_marked"`
	BytesMarked   uint64  `json:"bytes_marked"`
	Seconds       float64 `json:"seconds"`
	// Conservative lists what was scanned without exact pointer maps:
	// such words can only keep more alive, so they can hide a leak but
	// never report one that is not.
	Conservative []string `json:"conservative"`
	// Unconfirmed counts goroutines one mark found leaked that were not
	// reported: the other mark disagreed, or they woke up in between.
	Unconfirmed int `json:"unconfirmed"`
}
