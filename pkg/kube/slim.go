package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/memsight/memsight/pkg/model"
)

// mirrorAnnotation holds a static pod's UID (the hash the kubelet names its
// cgroup after) on the pod's mirror in the API, which has a UID of its own.
const mirrorAnnotation = "kubernetes.io/config.mirror"

// slim keeps of a pod only what Lookup needs — names, UID, labels (for the
// agent's pod selector), its controller reference (the workload), the two
// annotations memsight reads, the node, and each container's name and ID —
// so the informer's cache costs a few hundred bytes per pod rather than the
// full object (managedFields, spec, conditions). Other objects (the
// informer's tombstones) pass unchanged.
func slim(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	s := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			DeletionTimestamp: p.DeletionTimestamp, Labels: p.Labels, OwnerReferences: slimOwner(p.OwnerReferences),
		},
		Spec: corev1.PodSpec{NodeName: p.Spec.NodeName},
		Status: corev1.PodStatus{
			InitContainerStatuses:      slimStatuses(p.Status.InitContainerStatuses),
			ContainerStatuses:          slimStatuses(p.Status.ContainerStatuses),
			EphemeralContainerStatuses: slimStatuses(p.Status.EphemeralContainerStatuses),
		},
	}
	for _, k := range []string{model.IgnoreAnnotation, mirrorAnnotation} {
		if v, ok := p.Annotations[k]; ok {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[k] = v
		}
	}
	return s, nil
}

func slimStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, c := range in {
		out[i] = corev1.ContainerStatus{Name: c.Name, ContainerID: c.ContainerID}
	}
	return out
}

// containerName finds the container whose status reports containerID (the
// bare 64 hex digits of the cgroup) among the pod's init, app and ephemeral
// containers; the status has the runtime's scheme in front
// ("containerd://", "cri-o://", "docker://").
func containerName(p *corev1.Pod, containerID string) string {
	if containerID == "" {
		return ""
	}
	for _, list := range [][]corev1.ContainerStatus{
		p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses,
	} {
		for _, c := range list {
			if bareID(c.ContainerID) == containerID {
				return c.Name
			}
		}
	}
	return ""
}

// bareID strips the runtime scheme of a containerStatuses[].containerID.
func bareID(id string) string {
	if _, rest, ok := strings.Cut(id, "://"); ok {
		return rest
	}
	return id
}

// ignored reads the opt-out annotation.
func ignored(p *corev1.Pod) bool {
	return p.Annotations[model.IgnoreAnnotation] == "true"
}
