package agent

import (
	"context"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
)

// state is what the agent is doing with one PID.
type state int

const (
	stInspecting     state = iota // queued for, or being, inspected and attached
	stOther                       // not a Go process (or unreadable, or memsight)
	stExcluded                    // left out by ExcludeComm or IncludeComm
	stPending                     // younger than MinProcessAge
	stLimited                     // a Go process over MaxProcesses
	stUnsupported                 // a Go process memsight cannot attach to
	stFailed                      // attaching failed
	stIgnored                     // a Go process of a pod annotated memsight.io/ignore: "true"
	stExcludedCgroup              // a Go process left out by the cgroup Filters
	stExcludedPod                 // a Go process left out by the pod Filters (namespace, labels)
	stWatching                    // sampled by its worker
	stClosing                     // its worker is detaching it
)

// public is the state's name in a Snapshot, "" for PIDs that are not listed.
func (s state) public() string {
	switch s {
	case stWatching:
		return model.StateWatching
	case stFailed:
		return model.StateFailed
	case stUnsupported:
		return model.StateUnsupported
	case stLimited:
		return model.StateMaxProcesses
	case stIgnored:
		return model.StateIgnored
	case stExcludedCgroup, stExcludedPod:
		return model.StateExcluded
	}
	return ""
}

// entry is one PID of the process table.
type entry struct {
	pid       int
	state     state
	since     time.Time // when state was entered
	firstSeen time.Time
	initial   bool // found by the initial scan (readiness waits for it)
	// exe identifies the executable at the last inspection (zero if unknown),
	// to notice an exec.
	exe exeID
	// info is what the API lists; set once the process is known to be Go.
	info   model.Process
	reason string
	// Retries of a failed attach.
	attempts int
	retryAt  time.Time

	// Watching: the worker owns sess and sh; cancel stops it.
	bin       *goexe.Binary
	sess      *observe.SharedSession
	sh        *shared
	cancel    context.CancelFunc
	watchMono uint64        // probe.Now() just before the PID was watched
	latest    *model.Sample // guarded by Agent.mu
	// exeChecked is when the worker last compared /proc/PID/exe with exe
	// (worker-owned; see Agent.execed).
	exeChecked time.Time
}

// exeID is the (device, inode) of a process's executable.
type exeID struct{ dev, ino uint64 }

func (e *entry) set(s state, reason string, now time.Time) {
	if e.state != s {
		e.since = now
	}
	e.state, e.reason = s, reason
}
