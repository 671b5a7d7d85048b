package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestOwner: a ReplicaSet's pod is owned by its Deployment; other
// controllers by themselves; slim keeps the controller reference only.
func TestOwner(t *testing.T) {
	yes, no := true, false
	mk := func(labels map[string]string, refs ...metav1.OwnerReference) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: labels, OwnerReferences: refs}}
	}
	for _, c := range []struct {
		pod  *corev1.Pod
		want string
	}{
		{mk(map[string]string{"pod-template-hash": "7d9c8f"}, metav1.OwnerReference{Kind: "ReplicaSet", Name: "checkout-7d9c8f", Controller: &yes}), "checkout"},
		{mk(nil, metav1.OwnerReference{Kind: "ReplicaSet", Name: "bare-rs", Controller: &yes}), "bare-rs"},
		{mk(nil, metav1.OwnerReference{Kind: "StatefulSet", Name: "db", Controller: &yes}), "db"},
		{mk(nil, metav1.OwnerReference{Kind: "ConfigMap", Name: "x", Controller: &no}), ""},
		{mk(nil), ""},
	} {
		if got := owner(c.pod); got != c.want {
			t.Errorf("owner of %v: %q, want %q", c.pod.OwnerReferences, got, c.want)
		}
		s, _ := slim(c.pod)
		if got := owner(s.(*corev1.Pod)); got != c.want {
			t.Errorf("owner of the slim pod: %q, want %q", got, c.want)
		}
	}
}
