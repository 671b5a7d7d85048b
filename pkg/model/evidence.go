package model

import (
	"fmt"
	"time"
)

// Evidence is what the agent kept of one finding of one process: a
// snapshot when it fired and one when it resolved. It is kept in memory
// only (a restart of the agent loses it), within agent.ProfileConfig's
// bounds.
type Evidence struct {
	ID      string    `json:"id"`
	PID     int       `json:"pid"`
	Process Process   `json:"process"`
	Kind    string    `json:"kind"`
	Since   time.Time `json:"since"` // when the finding fired
	// Fired is taken when the finding first appears; Resolved when it
	// clears or the process goes (nil while it is active).
	Fired    *EvidenceSnapshot `json:"fired"`
	Resolved *EvidenceSnapshot `json:"resolved"`
}

// EvidenceSnapshot is the state of the process at one moment.
type EvidenceSnapshot struct {
	Time time.Time `json:"time"`
	// Finding is the finding as the detector reported it (the stuck stack
	// of a stall is in its evidence and in the sample); at resolution the
	// last one seen.
	Finding Finding `json:"finding"`
	// Sample is the sample that fired (or last saw) the finding: the RSS
	// breakdown, heap, GC, finalizers, the goroutine census summary.
	Sample *Sample `json:"sample"`
	// Goroutines is a census taken for the evidence (counts by status,
	// wait reason and creation site); its stacks are in the goroutine
	// profile.
	Goroutines *Census `json:"goroutines,omitempty"`
	// Profiles are gzipped pprof profiles by name: "heap" (when the
	// process records one), "goroutine", and for growth findings
	// "heap_base" (the heap profile at the start of the growth window, as
	// kept by the heap ring) and "heap_diff" (heap minus heap_base: what
	// `go tool pprof -base` shows). Names lists them.
	Profiles map[string][]byte `json:"-"`
	Names    []string          `json:"profiles"`
	// BaseTime is when heap_base was read.
	BaseTime *time.Time `json:"heap_base_time,omitempty"`
	// Errors says why a profile is missing, by name.
	Errors map[string]string `json:"errors,omitempty"`
}

// EvidenceID names the evidence of the finding kind that fired on pid at
// since: outputs that see the finding (webhooks, the API) link to it
// before it is captured.
func EvidenceID(pid int, kind string, since time.Time) string {
	return fmt.Sprintf("%d-%s-%d", pid, kind, since.UnixMilli())
}
