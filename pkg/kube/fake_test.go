package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// fakeAPI is API over client-go's fake clientset. The fake clientset
// ignores field selectors; fakeAPI's reactors apply spec.nodeName ones, as
// the API server does, and record every selector asked for.
type fakeAPI struct {
	cs *fake.Clientset

	mu        sync.Mutex
	selectors []string // of every list and watch of pods
}

func newFakeAPI(t *testing.T, objs ...runtime.Object) *fakeAPI {
	t.Helper()
	f := &fakeAPI{cs: fake.NewClientset(objs...)}
	gvr := corev1.SchemeGroupVersion.WithResource("pods")
	f.cs.PrependReactor("list", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		la := a.(clienttesting.ListAction)
		sel := f.record(la.GetListRestrictions().Fields)
		obj, err := f.cs.Tracker().List(gvr, corev1.SchemeGroupVersion.WithKind("Pod"), la.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		l := obj.(*corev1.PodList)
		kept := l.Items[:0]
		for _, p := range l.Items {
			if onNode(sel, &p) {
				kept = append(kept, p)
			}
		}
		l.Items = kept
		return true, l, nil
	})
	f.cs.PrependWatchReactor("pods", func(a clienttesting.Action) (bool, watch.Interface, error) {
		wa := a.(clienttesting.WatchAction)
		sel := f.record(wa.GetWatchRestrictions().Fields)
		w, err := f.cs.Tracker().Watch(gvr, wa.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		return true, watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
			p, ok := ev.Object.(*corev1.Pod)
			return ev, !ok || onNode(sel, p)
		}), nil
	})
	return f
}

func (f *fakeAPI) record(sel fields.Selector) fields.Selector {
	if sel == nil {
		sel = fields.Everything()
	}
	f.mu.Lock()
	f.selectors = append(f.selectors, sel.String())
	f.mu.Unlock()
	return sel
}

func (f *fakeAPI) seenSelectors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.selectors...)
}

func onNode(sel fields.Selector, p *corev1.Pod) bool {
	return sel.Matches(fields.Set{"spec.nodeName": p.Spec.NodeName})
}

func (f *fakeAPI) ListPods(ctx context.Context, o metav1.ListOptions) (*corev1.PodList, error) {
	return f.cs.CoreV1().Pods("").List(ctx, o)
}

func (f *fakeAPI) WatchPods(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return f.cs.CoreV1().Pods("").Watch(ctx, o)
}

func (f *fakeAPI) CreateEvent(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	return f.cs.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
}

// IsWatchListSemanticsUnSupported: the fake clientset cannot stream lists.
func (f *fakeAPI) IsWatchListSemanticsUnSupported() bool { return true }

// eventually polls ok for up to 5 s.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
