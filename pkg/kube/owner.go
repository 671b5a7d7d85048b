package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// templateHashLabel is the label a Deployment's ReplicaSets and pods carry:
// the ReplicaSet is named <deployment>-<hash>.
const templateHashLabel = "pod-template-hash"

// owner names the workload a pod belongs to from its controller reference:
// the Deployment of a ReplicaSet-owned pod (the ReplicaSet's name less its
// pod-template-hash suffix), else the controller's name (StatefulSet,
// DaemonSet, Job, ...); "" for a pod without a controller.
func owner(p *corev1.Pod) string {
	ref := metav1.GetControllerOf(p)
	if ref == nil {
		return ""
	}
	if ref.Kind == "ReplicaSet" {
		if h := p.Labels[templateHashLabel]; h != "" {
			if name, ok := strings.CutSuffix(ref.Name, "-"+h); ok && name != "" {
				return name
			}
		}
	}
	return ref.Name
}

// slimOwner keeps only the controller reference of a pod.
func slimOwner(refs []metav1.OwnerReference) []metav1.OwnerReference {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return []metav1.OwnerReference{{Kind: r.Kind, Name: r.Name, Controller: r.Controller}}
		}
	}
	return nil
}
