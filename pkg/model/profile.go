package model

import (
	"errors"
	"time"

	"github.com/google/pprof/profile"
)

// Profile kinds (Profile.Kind).
const (
	// ProfileHeap is the runtime's sampled heap profile (what
	// /debug/pprof/heap serves), read from memory.
	ProfileHeap = "heap"
	// ProfileGoroutine counts goroutines by stack (/debug/pprof/goroutine).
	ProfileGoroutine = "goroutine"
	// ProfileAlloc would be a profile of the allocation probes; the agent
	// runs none (only `memsight attach --alloc-probes` does), so it is
	// always ErrNoProfile.
	ProfileAlloc = "alloc"
)

// Errors of reading a Profile (agent.Agent.Profile), for callers to branch
// on (the API's status codes).
var (
	// ErrNotWatched: the PID is not a process the agent watches.
	ErrNotWatched = errors.New("process not watched")
	// ErrNoProfile: the process has no such profile (heap: it records
	// none; alloc: no allocation probes); the error says why in one line.
	ErrNoProfile = errors.New("no such profile")
	// ErrProfileBusy: agent.ProfileConfig.Concurrency profiles are being
	// read.
	ErrProfileBusy = errors.New("too many profiles being read at once")
	// ErrReadBudget: the profile needs more than
	// agent.ProfileConfig.ReadBudget bytes of the target's memory.
	ErrReadBudget = errors.New("profile larger than the read budget")
)

// Profile is one profile of a watched process.
type Profile struct {
	Process Process
	Kind    string
	Profile *profile.Profile
	// Time is when it was read, Duration how long that took, ReadBytes
	// what was read from the process.
	Time      time.Time
	Duration  time.Duration
	ReadBytes int64
}
