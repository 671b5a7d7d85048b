package agent

import (
	"fmt"

	"github.com/memsight/memsight/pkg/model"
)

// Pods names the pod and container of a process from the pod UID and
// container ID of its cgroup (pkg/kube implements it from a pod informer).
// Lookup is called at every inspection, every sample and every Snapshot:
// it must be an in-memory lookup, safe for concurrent use. ok is false
// while the pod is not known (yet): the agent asks again later.
type Pods interface {
	Lookup(podUID, containerID string) (pod model.Pod, ok bool)
}

// lookupPod asks Config.Pods about p's pod; ok is false outside Kubernetes
// or while the pod is unknown.
func (a *Agent) lookupPod(p model.Process) (model.Pod, bool) {
	if a.cfg.Pods == nil || p.PodUID == "" {
		return model.Pod{}, false
	}
	return a.cfg.Pods.Lookup(p.PodUID, p.ContainerID)
}

// enrich fills in p's pod, namespace and container when Config.Pods knows
// them, and returns the pod; ok is false while it is not known.
func (a *Agent) enrich(p *model.Process) (pod model.Pod, ok bool) {
	pod, ok = a.lookupPod(*p)
	if !ok {
		return model.Pod{}, false
	}
	p.Pod, p.Namespace, p.Container, p.Owner = pod.Name, pod.Namespace, pod.Container, pod.Owner
	return pod, true
}

// podState decides on a Go process from its pod, as enrich returned it:
// stIgnored or stExcludedPod with the reason, or stInspecting (attach, or
// stay watched).
func (a *Agent) podState(t *Tunables, p model.Process, pod model.Pod, known bool) (state, string) {
	if known && pod.Ignored {
		return stIgnored, ignoredReason(p)
	}
	if why := a.podVerdict(t, p, pod, known); why != "" {
		return stExcludedPod, why
	}
	return stInspecting, ""
}

// ignoredReason is the Reason of a process of an ignored pod.
func ignoredReason(p model.Process) string {
	return fmt.Sprintf("pod %s/%s is annotated %s: \"true\"", p.Namespace, p.Pod, model.IgnoreAnnotation)
}

// unignored reports whether an ignored entry's pod, or an entry left out
// by the pod Filters, is known and now neither ignored (the annotation was
// removed) nor excluded (its labels or namespace, or the filters, changed),
// so it should be inspected again. A pod the informer lost stays as it
// was. It only reads the entry and Config.Pods; a.mu is held.
func (a *Agent) unignored(e *entry) bool {
	if e.info.PodUID == "" { // left out as not in a pod: the include rules may be gone
		return e.state == stExcludedPod && a.podVerdict(a.tunables(), e.info, model.Pod{}, false) == ""
	}
	pod, ok := a.lookupPod(e.info)
	if !ok {
		return false
	}
	st, _ := a.podState(a.tunables(), e.info, pod, true)
	return st == stInspecting
}

// refreshPod updates a watched entry's pod names from Config.Pods (a pod
// the informer had not seen at the attach) and returns why it should be
// detached now (its pod is ignored or left out by the pod Filters), ""
// when it stays watched. Called by the entry's worker, the only writer of
// its info while watching.
func (a *Agent) refreshPod(e *entry) (why string) {
	if a.cfg.Pods == nil {
		return ""
	}
	p := e.info
	pod, known := a.enrich(&p)
	if p != e.info {
		a.mu.Lock()
		e.info.Pod, e.info.Namespace, e.info.Container, e.info.Owner = p.Pod, p.Namespace, p.Container, p.Owner
		a.mu.Unlock()
	}
	_, why = a.podState(a.tunables(), p, pod, known)
	return why
}

// enrichAll fills in the pod and container names of a Snapshot's processes
// that were not known when their entry was last updated (a pod the informer
// had not seen yet, a container whose status was not reported yet). Called
// without a.mu.
func (a *Agent) enrichAll(ps []model.Process) {
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
