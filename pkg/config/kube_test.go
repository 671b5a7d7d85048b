package config

import (
	"strings"
	"testing"
)

// TestKubernetes: the kubernetes section, its defaults, and its errors.
func TestKubernetes(t *testing.T) {
	f, err := Parse([]byte("kubernetes:\n  mode: on\n  kubeconfig: /etc/kube/config\n  node_name: n1\n  events: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(f, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Kube{Mode: KubeOn, Kubeconfig: "/etc/kube/config", NodeName: "n1", Events: false}); s.Kubernetes != want {
		t.Errorf("kubernetes: %+v, want %+v", s.Kubernetes, want)
	}
	if s, _ := Resolve(nil, ""); s.Kubernetes != (Kube{Mode: KubeAuto, Events: true}) {
		t.Errorf("defaults: %+v", s.Kubernetes)
	}
	f, _ = Parse([]byte("kubernetes:\n  mode: maybe\n"))
	if _, err := Resolve(f, ""); err == nil || !strings.Contains(err.Error(), `kubernetes.mode: unknown mode "maybe" (allowed: auto, on, off)`) {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := Parse([]byte("kubernetes:\n  node: n1\n")); err == nil ||
		!strings.Contains(err.Error(), `unknown key "node" in kubernetes (allowed: mode, kubeconfig, node_name, events)`) {
		t.Errorf("unknown key: %v", err)
	}
}
