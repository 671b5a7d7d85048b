package kube

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"

	"github.com/memsight/memsight/pkg/model"
)

const (
	uidA    = "0b1e8f2c-1111-4a2b-9c3d-000000000001"
	uidB    = "0b1e8f2c-2222-4a2b-9c3d-000000000002"
	cidApp  = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cidInit = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	cidDbg  = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
)

func pod(name, uid, node string, annotations map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(uid), Annotations: annotations,
			Labels: map[string]string{"app": name}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "example/app"}}},
		Status: corev1.PodStatus{
			Phase:                      corev1.PodRunning,
			ContainerStatuses:          []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + cidApp, Image: "example/app"}},
			InitContainerStatuses:      []corev1.ContainerStatus{{Name: "init", ContainerID: "cri-o://" + cidInit}},
			EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "debugger", ContainerID: "docker://" + cidDbg}},
		},
	}
}

// startPods runs a Pods of node-a over api until the test ends, and waits
// for its first list.
func startPods(t *testing.T, api API) *Pods {
	t.Helper()
	p, err := NewPods(PodsConfig{API: api, Node: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !p.WaitForSync(ctx, 5*time.Second) {
		t.Fatal("the pod cache did not sync")
	}
	return p
}

// TestPodsNode: only this node's pods are cached, because every list and
// watch asks for spec.nodeName=<node>.
func TestPodsNode(t *testing.T) {
	api := newFakeAPI(t, pod("web", uidA, "node-a", nil), pod("db", uidB, "node-b", nil))
	p := startPods(t, api)
	if got, ok := p.Lookup(uidA, cidApp); !ok || !reflect.DeepEqual(got, model.Pod{Name: "web", Namespace: "shop", Container: "app", Labels: map[string]string{"app": "web"}}) {
		t.Errorf("Lookup(pod on this node) = %+v, %v", got, ok)
	}
	if got, ok := p.Lookup(uidB, cidApp); ok {
		t.Errorf("Lookup(pod on another node) = %+v, want not found", got)
	}
	if got := NodeSelector("node-a"); got != "spec.nodeName=node-a" {
		t.Errorf("NodeSelector = %q", got)
	}
	eventually(t, "a watch", func() bool { return len(api.seenSelectors()) >= 2 })
	for _, s := range api.seenSelectors() {
		if s != "spec.nodeName=node-a" {
			t.Errorf("a list or watch of pods with field selector %q, want spec.nodeName=node-a", s)
		}
	}
}

// TestPodsContainers: the container is found by the cgroup's bare ID among
// app (containerd), init (cri-o) and ephemeral (docker) containers.
func TestPodsContainers(t *testing.T) {
	p := startPods(t, newFakeAPI(t, pod("web", uidA, "node-a", nil)))
	for cid, want := range map[string]string{cidApp: "app", cidInit: "init", cidDbg: "debugger", strings.Repeat("d", 64): "", "": ""} {
		got, ok := p.Lookup(uidA, cid)
		if !ok || got.Name != "web" || got.Namespace != "shop" || got.Container != want {
			t.Errorf("Lookup(%q) = %+v, %v; want container %q", cid, got, ok, want)
		}
	}
}

// TestPodsChanges: a pod created after the first list, annotated, then
// deleted, is followed.
func TestPodsChanges(t *testing.T) {
	api := newFakeAPI(t)
	p := startPods(t, api)
	ctx := t.Context()
	pods := api.cs.CoreV1().Pods("shop")
	if _, ok := p.Lookup(uidA, cidApp); ok {
		t.Fatal("found a pod before it was created")
	}
	created, err := pods.Create(ctx, pod("web", uidA, "node-a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new pod", func() bool { _, ok := p.Lookup(uidA, cidApp); return ok })

	created.Annotations = map[string]string{model.IgnoreAnnotation: "true"}
	if _, err := pods.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the annotation", func() bool { got, _ := p.Lookup(uidA, cidApp); return got.Ignored })

	created.Annotations[model.IgnoreAnnotation] = "false"
	created.Labels = map[string]string{"app": "web", "track": "canary"}
	if _, err := pods.Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the annotation set to false and the new labels", func() bool {
		got, ok := p.Lookup(uidA, cidApp)
		return ok && !got.Ignored && got.Labels["track"] == "canary"
	})

	if err := pods.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pod gone", func() bool { _, ok := p.Lookup(uidA, cidApp); return !ok })
}

// TestPodsStatic: a static pod's cgroup has the kubelet's hash as pod UID,
// which the mirror pod in the API carries as an annotation.
func TestPodsStatic(t *testing.T) {
	const hash = "5d8f3c2a9b7e6d4c1a0f9e8d7c6b5a49"
	mirror := pod("etcd-node-a", uidA, "node-a", map[string]string{mirrorAnnotation: hash})
	p := startPods(t, newFakeAPI(t, mirror))
	if got, ok := p.Lookup(hash, cidApp); !ok || got.Name != "etcd-node-a" || got.Container != "app" {
		t.Errorf("Lookup(static pod hash) = %+v, %v", got, ok)
	}
	if uid, ok := p.objectUID(hash); !ok || uid != uidA {
		t.Errorf("objectUID(static pod hash) = %q, %v; want the mirror's %s", uid, ok, uidA)
	}
}

// TestPodsSlim: the cache keeps only what Lookup needs (labels, but no
// annotation other than memsight's two).
func TestPodsSlim(t *testing.T) {
	in := pod("web", uidA, "node-a", map[string]string{model.IgnoreAnnotation: "true", "other": "x"})
	out, err := slim(in)
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*corev1.Pod)
	if s.ManagedFields != nil || len(s.Spec.Containers) != 0 || s.Status.Phase != "" ||
		s.Status.ContainerStatuses[0].Image != "" || len(s.Annotations) != 1 {
		t.Errorf("slim kept too much: %+v", s)
	}
	if s.Name != "web" || s.Namespace != "shop" || string(s.UID) != uidA || !ignored(s) || s.Labels["app"] != "web" ||
		containerName(s, cidApp) != "app" || containerName(s, cidInit) != "init" || containerName(s, cidDbg) != "debugger" {
		t.Errorf("slim lost something: %+v", s)
	}
	if in.ManagedFields == nil || in.Labels == nil {
		t.Error("slim changed its input")
	}
	if out, _ := slim("tombstone"); out != "tombstone" {
		t.Errorf("slim(non-pod) = %v", out)
	}
}

// TestPodsUnreachable: an API server that does not answer makes
// WaitForSync give up after its timeout with one warning; Lookup finds
// nothing and Run keeps retrying until its context ends.
func TestPodsUnreachable(t *testing.T) {
	api := newFakeAPI(t)
	api.cs.PrependReactor("list", "pods", func(_ clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	var logs strings.Builder
	p, err := NewPods(PodsConfig{API: api, Node: "node-a", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	start := time.Now()
	if p.WaitForSync(ctx, 300*time.Millisecond) {
		t.Fatal("synced with an API server that refuses every list")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("WaitForSync took %v, want about its 300ms timeout", d)
	}
	if _, ok := p.Lookup(uidA, cidApp); ok {
		t.Error("Lookup found a pod")
	}
	cancel()
	<-done
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("%d warnings, want 1 and no error:\n%s", n, logs.String())
	}
}

func TestNewPodsNeedsNode(t *testing.T) {
	if _, err := NewPods(PodsConfig{API: newFakeAPI(t)}); err == nil || !strings.Contains(err.Error(), "NODE_NAME") {
		t.Errorf("NewPods without a node: %v, want an error naming NODE_NAME", err)
	}
}
