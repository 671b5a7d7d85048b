package model

import "fmt"

// Census counts the goroutines of a process, read from runtime.allgs: the
// zero-instrumentation equivalent of /debug/pprof/goroutine?debug=1 plus
// wait reasons and creation sites.
//
// The target runs while allgs is walked, so a census is not an instant:
// goroutines created during the walk may be missing and each g is read at a
// slightly different time (one that changed while read is re-read).
//
// Relation to the runtime's own counts, for a snapshot (a target whose
// goroutines do not change during the walk):
//
//	User         = the goroutines runtime/pprof's goroutine profile and
//	               runtime.Stack(all) list (isSystemGoroutine false)
//	NumGoroutine = runtime.NumGoroutine() = User - (1 if the finalizer
//	               goroutine is running a finalizer) - (cleanup goroutines
//	               running cleanups): the runtime counts those as system
//	               goroutines for good when it creates them (sched.ngsys)
//	Total        = /sched/goroutines:goroutines (runtime.gcount(true)),
//	               except that the dead g's the runtime keeps for cgo
//	               callbacks on foreign threads are not counted here
type Census struct {
	GoVersion string `json:"go_version"`
	// AllGs is len(runtime.allgs) as read: every g ever created and not
	// freed, dead ones included. Read counts the g's actually read.
	AllGs int `json:"allgs"`
	Read  int `json:"read"`
	// Total counts live goroutines (not dead); User those that are not
	// system goroutines (see the type's doc); System = Total - User; Dead
	// the g's kept for reuse.
	Total        int `json:"total"`
	User         int `json:"user"`
	System       int `json:"system"`
	NumGoroutine int `json:"num_goroutine"`
	Dead         int `json:"dead"`
	// IncludeSystem reports whether the breakdowns below count system
	// goroutines too (goruntime.CensusOptions.IncludeSystem); Counted is
	// how many goroutines they cover (User or Total).
	IncludeSystem bool `json:"include_system"`
	Counted       int  `json:"counted"`
	// ByStatus counts by status as the runtime prints it ("waiting",
	// "runnable", "running", "syscall", ...); ByWaitReason counts the
	// waiting ones by wait reason ("chan receive", "select", ...).
	ByStatus     map[string]int `json:"by_status"`
	ByWaitReason map[string]int `json:"by_wait_reason"`
	// BySite counts by the go statement that created them, most first
	// (goruntime.CensusOptions.TopSites); Sites is the number of distinct
	// sites.
	BySite []CensusSite `json:"by_site"`
	Sites  int          `json:"sites"`
	// OldestWaiters are the goroutines waiting longest (by g.waitsince),
	// oldest first. Only goroutines whose wait start the runtime recorded
	// are ranked: WaitSinceUnknown counts the waiting ones it did not
	// record yet (a GC cycle after the first one records them).
	OldestWaiters    []Waiter `json:"oldest_waiters"`
	WaitSinceUnknown int      `json:"wait_since_unknown"`
	// Stacks groups goroutines by stack, most first
	// (goruntime.CensusOptions.Stacks). StacksSkipped counts goroutines
	// beyond its MaxStacks, not read.
	Stacks        []StackGroup `json:"stacks,omitempty"`
	StacksSkipped int          `json:"stacks_skipped,omitempty"`
	// Changed counts g's that changed while read and were re-read;
	// Unreadable g's that could not be read (and are not counted).
	Changed    int `json:"changed"`
	Unreadable int `json:"unreadable"`
	// Unknown lists what could not be determined, with why.
	Unknown map[string]string `json:"unknown,omitempty"`
}

// Site is a go statement: the function containing it (as the runtime
// prints it) and its file:line, as in a traceback's "created by" line.
// The main goroutine has none: its site is "(main goroutine)"; a pc that
// no function holds is "(unknown)".
type Site struct {
	Function string `json:"function"`
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
}

func (s Site) String() string {
	if s.File == "" {
		return s.Function
	}
	return fmt.Sprintf("%s %s:%d", s.Function, s.File, s.Line)
}

// CensusSite is how many goroutines one go statement created (of those
// alive now), their most common status and the most common wait reason
// among the waiting ones ("" when none waits).
type CensusSite struct {
	Site
	Count      int    `json:"count"`
	Status     string `json:"status"`
	WaitReason string `json:"wait_reason,omitempty"`
	// Waiting is how many of them wait for WaitReason.
	Waiting int `json:"waiting,omitempty"`
}

// Waiter is one long-waiting goroutine.
type Waiter struct {
	Goid       uint64 `json:"goid"`
	WaitReason string `json:"wait_reason"`
	// WaitSeconds is now - g.waitsince, what the runtime prints as "N
	// minutes" in tracebacks. It is approximate: the first GC cycle that
	// finds the goroutine blocked stamps the start of the previous cycle's
	// mark termination (work.tstart), so it can overstate the wait by up to
	// one GC interval, and the first cycle stamps nothing.
	WaitSeconds float64 `json:"wait_seconds"`
	StartFunc   string  `json:"start_function"`
	CreatedBy   Site    `json:"created_by"`
	// Stack is read with goruntime.CensusOptions.WaiterStacks.
	Stack    []CensusFrame `json:"stack,omitempty"`
	StackErr string        `json:"stack_error,omitempty"`
}

// CensusFrame is one logical stack frame.
type CensusFrame struct {
	Function string `json:"function"` // as the runtime prints it
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	// PC is the return address (the interrupted pc for the innermost
	// frame); inlined frames share their physical frame's PC. Offset is PC
	// minus the physical function's entry.
	PC      uint64 `json:"pc"`
	Offset  uint64 `json:"offset"`
	Inlined bool   `json:"inlined,omitempty"`
}

// StackGroup is a set of goroutines with the same stack.
type StackGroup struct {
	Count  int           `json:"count"`
	Frames []CensusFrame `json:"frames"`
	// Err says why the stacks were not read completely ("running" ones: the
	// registers of a running goroutine are not in memory).
	Err string `json:"error,omitempty"`
	// WaitReason is the most common wait reason in the group.
	WaitReason string `json:"wait_reason,omitempty"`
}
