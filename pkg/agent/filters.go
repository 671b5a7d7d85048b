package agent

import (
	"fmt"
	"regexp"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/memsight/memsight/pkg/model"
)

// Filters choose the processes watched by cgroup and by Kubernetes pod, on
// top of IncludeComm and ExcludeComm. A Go process left out by them is
// listed as model.StateExcluded, its Reason naming the rule, and counted in
// model.Stats.Skipped["excluded"].
//
// The cgroup filters are decided at inspection, like the comm ones. The pod
// filters need the pod (Config.Pods; they are off without it): a process
// whose pod is not known yet is attached and checked again at each sample,
// as for model.IgnoreAnnotation; a watched process whose pod stops matching
// (labels or namespace changed, or a Reconfigure) is detached at its next
// sample, and an excluded one whose pod matches again is attached.
type Filters struct {
	// ExcludeCgroup: processes whose cgroup path, in any hierarchy of
	// /proc/PID/cgroup, matches are never attached. IncludeCgroup, when
	// set: only processes with a path that matches are.
	ExcludeCgroup, IncludeCgroup *regexp.Regexp
	// ExcludeNamespaces: processes of pods in these namespaces are never
	// attached. IncludeNamespaces, when set: only processes of pods in these
	// namespaces are (not processes outside pods).
	ExcludeNamespaces, IncludeNamespaces []string
	// PodSelector, when set: only processes of pods whose labels it matches
	// are attached (not processes outside pods).
	PodSelector labels.Selector
}

// podRules reports whether any pod filter is set.
func (f *Filters) podRules() bool {
	return len(f.ExcludeNamespaces) > 0 || len(f.IncludeNamespaces) > 0 || f.PodSelector != nil
}

// cgroupExcluded applies the cgroup filters to a process's cgroup paths;
// it returns why the process is left out, "" when it is not.
func (f *Filters) cgroupExcluded(paths []string) string {
	if f.ExcludeCgroup != nil {
		for _, p := range paths {
			if f.ExcludeCgroup.MatchString(p) {
				return fmt.Sprintf("cgroup %s matches excludes.cgroup %q", p, f.ExcludeCgroup)
			}
		}
	}
	if f.IncludeCgroup != nil && !slices.ContainsFunc(paths, f.IncludeCgroup.MatchString) {
		return fmt.Sprintf("no cgroup path of the process (%q) matches excludes.include_cgroup %q", paths, f.IncludeCgroup)
	}
	return ""
}

// podExcluded applies the pod filters to p, whose pod is pod when known;
// it returns why p is left out, "" when it is not or cannot be decided yet
// (its pod is not known).
func (f *Filters) podExcluded(p model.Process, pod model.Pod, known bool) string {
	if p.PodUID == "" {
		switch {
		case len(f.IncludeNamespaces) > 0:
			return fmt.Sprintf("not in a pod: excludes.include_namespaces %q watches only pods", f.IncludeNamespaces)
		case f.PodSelector != nil:
			return fmt.Sprintf("not in a pod: excludes.pod_selector %q watches only pods", f.PodSelector)
		}
		return ""
	}
	if !known {
		return ""
	}
	name := pod.Namespace + "/" + pod.Name
	switch {
	case slices.Contains(f.ExcludeNamespaces, pod.Namespace):
		return fmt.Sprintf("pod %s: namespace %s is in excludes.namespaces", name, pod.Namespace)
	case len(f.IncludeNamespaces) > 0 && !slices.Contains(f.IncludeNamespaces, pod.Namespace):
		return fmt.Sprintf("pod %s: namespace %s is not in excludes.include_namespaces %q", name, pod.Namespace, f.IncludeNamespaces)
	case f.PodSelector != nil && !f.PodSelector.Matches(labels.Set(pod.Labels)):
		return fmt.Sprintf("pod %s does not match excludes.pod_selector %q", name, f.PodSelector)
	}
	return ""
}

// cgroupVerdict applies the cgroup filters to pid, reading its cgroup
// paths only when a filter is set.
func (a *Agent) cgroupVerdict(t *Tunables, pid int) string {
	if t.ExcludeCgroup == nil && t.IncludeCgroup == nil {
		return ""
	}
	paths, err := a.cfg.Procs.CgroupPaths(pid)
	if err != nil {
		paths = nil // unreadable: no path matches
	}
	return t.cgroupExcluded(paths)
}

// podVerdict applies the pod filters to p; they are off without
// Config.Pods.
func (a *Agent) podVerdict(t *Tunables, p model.Process, pod model.Pod, known bool) string {
	if a.cfg.Pods == nil || !t.podRules() {
		return ""
	}
	return t.podExcluded(p, pod, known)
}
