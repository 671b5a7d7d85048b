package agent

import "fmt"

// IgnoreAnnotation is the pod annotation that keeps memsight away from a
// pod's processes when its value is "true". Pods implementations read it.
const IgnoreAnnotation = "memsight.io/ignore"

// Pod is what the Kubernetes API says about the container a process runs
// in.
type Pod struct {
	Name, Namespace string
	// Container is the container's name in the pod spec ("" when the pod is
	// known but not the container, e.g. its status is not reported yet).
	Container string
	// Ignored: the pod is annotated IgnoreAnnotation: "true"; its processes
	// are not attached, and a watched one is detached.
	Ignored bool
}

// Pods names the pod and container of a process from the pod UID and
// container ID of its cgroup (pkg/kube implements it from a pod informer).
// Lookup is called at every inspection, every sample and every Snapshot:
// it must be an in-memory lookup, safe for concurrent use. ok is false
// while the pod is not known (yet): the agent asks again later.
type Pods interface {
	Lookup(podUID, containerID string) (pod Pod, ok bool)
}

// lookupPod asks Config.Pods about p's pod; ok is false outside Kubernetes
// or while the pod is unknown.
func (a *Agent) lookupPod(p Process) (Pod, bool) {
	if a.cfg.Pods == nil || p.PodUID == "" {
		return Pod{}, false
	}
	return a.cfg.Pods.Lookup(p.PodUID, p.ContainerID)
}

// enrich fills in p's pod, namespace and container when Config.Pods knows
// them, and reports whether the pod is ignored.
func (a *Agent) enrich(p *Process) (ignored bool) {
	pod, ok := a.lookupPod(*p)
	if !ok {
		return false
	}
	p.Pod, p.Namespace, p.Container = pod.Name, pod.Namespace, pod.Container
	return pod.Ignored
}

// ignoredReason is the Reason of a process of an ignored pod.
func ignoredReason(p Process) string {
	return fmt.Sprintf("pod %s/%s is annotated %s: \"true\"", p.Namespace, p.Pod, IgnoreAnnotation)
}

// unignored reports whether an ignored entry's pod is known and no longer
// ignored (the annotation was removed), so it should be inspected again. A
// pod the informer lost stays ignored. It only reads the entry and
// Config.Pods; a.mu is held.
func (a *Agent) unignored(e *entry) bool {
	pod, ok := a.lookupPod(e.info)
	return ok && !pod.Ignored
}

// refreshPod updates a watched entry's pod names from Config.Pods (a pod
// the informer had not seen at the attach) and reports whether the pod is
// now ignored. Called by the entry's worker, the only writer of its info
// while watching.
func (a *Agent) refreshPod(e *entry) (ignored bool) {
	p := e.info
	if a.cfg.Pods == nil || p.PodUID == "" {
		return false
	}
	ignored = a.enrich(&p)
	if p != e.info {
		a.mu.Lock()
		e.info.Pod, e.info.Namespace, e.info.Container = p.Pod, p.Namespace, p.Container
		a.mu.Unlock()
	}
	return ignored
}

// enrichAll fills in the pod and container names of a Snapshot's processes
// that were not known when their entry was last updated (a pod the informer
// had not seen yet, a container whose status was not reported yet). Called
// without a.mu.
func (a *Agent) enrichAll(ps []Process) {
	if a.cfg.Pods == nil {
		return
	}
	for i := range ps {
		p := &ps[i]
		if p.PodUID != "" && (p.Pod == "" || p.Container == "" && p.ContainerID != "") {
			a.enrich(p)
		}
	}
}
