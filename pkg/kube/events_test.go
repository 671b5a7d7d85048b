package kube

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	dto "github.com/prometheus/client_model/go"

	"github.com/memsight/memsight/pkg/model"
)

// fakeSource serves a snapshot that the test changes.
type fakeSource struct {
	mu   sync.Mutex
	snap model.Snapshot
}

func (f *fakeSource) Snapshot() model.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *fakeSource) set(procs ...model.Process) {
	f.mu.Lock()
	f.snap = model.Snapshot{Time: time.Now(), Processes: procs}
	f.mu.Unlock()
}

// watched is a watched process of pod web with these findings.
func watched(pid int, pod string, kinds ...string) model.Process {
	s := &model.Sample{PID: pid}
	for _, k := range kinds {
		s.Findings = append(s.Findings, model.Finding{Kind: k, Severity: "warning", Summary: "finalizer main.(*Conn).Close has been blocked for 11.7 s"})
	}
	p := model.Process{PID: pid, Comm: "svc", PodUID: uidA, ContainerID: cidApp, State: model.StateWatching, Sample: s}
	if pod != "" {
		p.Pod, p.Namespace, p.Container = pod, "shop", "app"
	}
	return p
}

// TestEventsOncePerFiring: an Event on the pod when a finding fires, none
// while it stays active, another after it resolved and fired again; none
// for a process outside a known pod until the pod is known.
func TestEventsOncePerFiring(t *testing.T) {
	api := newFakeAPI(t, pod("web", uidA, "node-a", nil))
	pods := startPods(t, api)
	src := &fakeSource{}
	ev, err := NewEvents(EventsConfig{API: api, Source: src, Pods: pods, Node: "node-a", Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ev.Run(ctx) }()
	defer func() { cancel(); <-done }()

	list := func() []corev1.Event {
		l, err := api.cs.CoreV1().Events("shop").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	settle := func() { time.Sleep(100 * time.Millisecond) } // 10 polls

	src.set(watched(7, "", model.KindFinalizerStall)) // pod not known yet
	settle()
	if n := len(list()); n != 0 {
		t.Fatalf("%d events for a process outside a known pod", n)
	}
	src.set(watched(7, "web", model.KindFinalizerStall))
	eventually(t, "an event", func() bool { return len(list()) == 1 })
	settle()
	evs := list()
	if len(evs) != 1 {
		t.Fatalf("%d events while the finding stays active, want 1", len(evs))
	}
	e := evs[0]
	want := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "web", UID: uidA}
	if e.InvolvedObject != want || e.Reason != "FinalizerStall" || e.Type != corev1.EventTypeWarning ||
		e.Source != (corev1.EventSource{Component: "memsight", Host: "node-a"}) || e.Count != 1 ||
		e.Message != "finalizer main.(*Conn).Close has been blocked for 11.7 s (pid 7, svc, container app)" {
		t.Errorf("event: %+v", e)
	}

	src.set(watched(7, "web", model.KindFinalizerStall, model.KindRSSGrowth)) // a second kind fires
	eventually(t, "the second kind's event", func() bool { return len(list()) == 2 })
	src.set(watched(7, "web", model.KindRSSGrowth)) // the stall resolves
	settle()
	src.set(watched(7, "web", model.KindFinalizerStall, model.KindRSSGrowth)) // and fires again
	eventually(t, "an event for the stall firing again", func() bool { return len(list()) == 3 })
	settle()
	reasons := map[string]int{}
	for _, e := range list() {
		reasons[e.Reason]++
	}
	if reasons["FinalizerStall"] != 2 || reasons["RSSGrowth"] != 1 || len(reasons) != 2 {
		t.Errorf("events by reason: %v, want FinalizerStall 2, RSSGrowth 1", reasons)
	}
}

// TestEventsQueueBound: beyond QueueSize pending Events, new ones are
// dropped and counted.
func TestEventsQueueBound(t *testing.T) {
	src := &fakeSource{}
	ev, err := NewEvents(EventsConfig{API: newFakeAPI(t), Source: src, QueueSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	src.set(watched(1, "web", "a_kind", "b_kind", "c_kind"))
	ev.Observe(src.Snapshot()) // nothing sends: Run is not running
	if n := len(ev.queue); n != 2 {
		t.Errorf("%d queued, want 2", n)
	}
	if got := counterValue(t, ev, "dropped"); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
}

func counterValue(t *testing.T, ev *Events, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := ev.m.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestReason(t *testing.T) {
	for kind, want := range map[string]string{
		model.KindFinalizerStall: "FinalizerStall", model.KindFinalizerBacklog: "FinalizerBacklog",
		model.KindCleanupStall: "CleanupStall", model.KindRSSGrowth: "RSSGrowth", model.KindHeapGrowth: "HeapGrowth",
		model.KindGoroutineGrowth: "GoroutineGrowth", model.KindFDGrowth: "FDGrowth",
		model.KindGCPauseRegression: "GCPauseRegression", "new_kind_x": "NewKindX",
	} {
		if got := Reason(kind); got != want {
			t.Errorf("Reason(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("héllo", 4); got != "h…" {
		t.Errorf("truncate = %q", got)
	}
	if got := truncate("short", 10); got != "short" {
		t.Errorf("truncate = %q", got)
	}
}
