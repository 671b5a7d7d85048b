package agent

import (
	"fmt"
	"regexp"
	"time"

	"github.com/memsight/memsight/pkg/detect"
)

// Tunables are the parts of Config that Reconfigure changes on a running
// agent: the detectors' thresholds and which processes are watched.
type Tunables struct {
	Detect                   detect.Config
	IncludeComm, ExcludeComm *regexp.Regexp
	Filters
	MaxProcesses  int
	MinProcessAge time.Duration
}

func (c Config) tunables() *Tunables {
	return &Tunables{
		Detect: c.Detect, IncludeComm: c.IncludeComm, ExcludeComm: c.ExcludeComm, Filters: c.Filters,
		MaxProcesses: c.MaxProcesses, MinProcessAge: c.MinProcessAge,
	}
}

// Reconfigure changes the thresholds and the filters of a running agent,
// keeping everything else: attachments, counters, each process's detector
// history and active findings. Each worker picks the new thresholds up
// before its next sample; the comm and cgroup filters apply from the next
// inspection (processes already watched stay watched, even if now
// excluded, until they exit); the pod filters at the next sample too (see
// Filters). A zero MaxProcesses takes the default.
func (a *Agent) Reconfigure(t Tunables) error {
	if t.MinProcessAge < 0 {
		return fmt.Errorf("agent: negative minimum process age %v", t.MinProcessAge)
	}
	if t.MaxProcesses <= 0 {
		t.MaxProcesses = DefaultMaxProcesses
	}
	a.tun.Store(&t)
	if a.cfg.Pods == nil && t.podRules() {
		a.log.Warn("the namespace and pod-selector excludes need Kubernetes (--kubernetes): they are off")
	}
	a.log.Info("configuration changed", "max_processes", t.MaxProcesses, "min_process_age", t.MinProcessAge,
		"stall_threshold", t.Detect.StallThreshold)
	return nil
}

// tunables returns the current tunables; the pointer changes at each
// Reconfigure.
func (a *Agent) tunables() *Tunables { return a.tun.Load() }

// excluded applies IncludeComm and ExcludeComm; it returns why comm is
// left out, "" when it is not.
func excluded(t *Tunables, comm string) string {
	switch {
	case t.ExcludeComm != nil && t.ExcludeComm.MatchString(comm):
		return fmt.Sprintf("comm %q matches excludes.comm %q", comm, t.ExcludeComm)
	case t.IncludeComm != nil && !t.IncludeComm.MatchString(comm):
		return fmt.Sprintf("comm %q does not match excludes.include_comm %q", comm, t.IncludeComm)
	}
	return ""
}
