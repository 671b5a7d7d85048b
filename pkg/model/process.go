package model

import "time"

// States of a Go process in a Snapshot.
const (
	// StateWatching: attached and sampled.
	StateWatching = "watching"
	// StateFailed: attaching failed; Reason says why. Retried with backoff
	// unless the reason is permanent.
	StateFailed = "failed"
	// StateUnsupported: memsight cannot attach to this executable (Reason).
	StateUnsupported = "unsupported"
	// StateMaxProcesses: not watched because agent.Config.MaxProcesses are;
	// attached
	// when one of them exits.
	StateMaxProcesses = "max_processes"
	// StateIgnored: not watched because its pod is annotated
	// memsight.io/ignore: "true" (Reason names the pod); attached once the
	// annotation is removed.
	StateIgnored = "ignored"
	// StateExcluded: not watched because of a cgroup, namespace or pod
	// selector filter (Reason names it; see agent.Filters).
	StateExcluded = "excluded"
)

// Process is one Go process the agent knows, watched or not.
type Process struct {
	PID       int    `json:"pid"`
	Comm      string `json:"comm"`
	Exe       string `json:"exe"`
	GoVersion string `json:"go_version"`
	BuildID   string `json:"build_id,omitempty"`
	// Build is how the executable was built; nil until it is inspected.
	Build       *Build    `json:"build,omitempty"`
	ContainerID string    `json:"container_id"`
	PodUID      string    `json:"pod_uid"`
	Pod         string    `json:"pod"`             // pod name (agent.Config.Pods); "" outside Kubernetes or while the pod is unknown
	Namespace   string    `json:"namespace"`       // the pod's namespace; "" likewise
	Container   string    `json:"container"`       // the container's name in the pod; "" likewise
	Owner       string    `json:"owner,omitempty"` // the pod's workload (Deployment, StatefulSet, ...); "" likewise
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"` // when the process entered State
	// Sample is the latest sample (findings included), nil before the first
	// or when not watched. It is shared: do not modify it.
	Sample *Sample `json:"-"`
}

// Build is how a Go executable was built, from the file.
type Build struct {
	PIE      bool `json:"pie"`      // position independent (ET_DYN)
	Stripped bool `json:"stripped"` // no .symtab (-ldflags=-s)
	Cgo      bool `json:"cgo"`      // runtime/cgo is linked in
}

// IgnoreAnnotation is the pod annotation that keeps memsight away from a
// pod's processes when its value is "true". agent.Pods implementations
// read it.
const IgnoreAnnotation = "memsight.io/ignore"

// Pod is what the Kubernetes API says about the container a process runs
// in (agent.Pods).
type Pod struct {
	Name, Namespace string
	// Container is the container's name in the pod spec ("" when the pod is
	// known but not the container, e.g. its status is not reported yet).
	Container string
	// Ignored: the pod is annotated IgnoreAnnotation: "true"; its processes
	// are not attached, and a watched one is detached.
	Ignored bool
	// Labels are the pod's labels, for agent.Filters.PodSelector. The map may be
	// the Pods cache's own: do not modify it.
	Labels map[string]string
	// Owner is the workload the pod belongs to: its Deployment (for a pod
	// of a ReplicaSet), StatefulSet, DaemonSet, Job...; "" when none.
	Owner string
}

// ServiceName is the service a process's profiles are filed under in a
// profiling backend: "namespace/owner" for a process of a pod with an
// owner (the Deployment, StatefulSet, DaemonSet...), else
// "namespace/container" for a known pod's container (the name Grafana
// Alloy's pyroscope.scrape infers for Kubernetes targets), else its comm.
func ServiceName(p Process) string {
	switch {
	case p.Namespace != "" && p.Owner != "":
		return p.Namespace + "/" + p.Owner
	case p.Namespace != "" && p.Container != "":
		return p.Namespace + "/" + p.Container
	}
	return p.Comm
}
