package kube

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// fakeServer is the part of an API server NewAPI talks to: pods of node-a
// (list, watch, and the streaming list client-go uses by default) and event
// creation.
type fakeServer struct {
	mu      sync.Mutex
	queries []string // of every pods request
	events  []corev1.Event
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
		s.mu.Lock()
		s.queries = append(s.queries, r.URL.RawQuery)
		s.mu.Unlock()
		q := r.URL.Query()
		if q.Get("fieldSelector") != "spec.nodeName=node-a" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p := pod("web", uidA, "node-a", nil)
		p.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
		p.ResourceVersion = "10"
		if q.Get("watch") != "true" && q.Get("watch") != "1" {
			_ = json.NewEncoder(w).Encode(corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"},
				ListMeta: metav1.ListMeta{ResourceVersion: "10"}, Items: []corev1.Pod{*p}})
			return
		}
		enc := json.NewEncoder(w)
		if q.Get("sendInitialEvents") == "true" {
			_ = enc.Encode(map[string]any{"type": "ADDED", "object": p})
			mark := &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: metav1.ObjectMeta{ResourceVersion: "10",
				Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
			_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": mark})
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/namespaces/shop/events":
		var ev corev1.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(ev)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestAPI runs Pods and an Event through NewAPI's REST client against a
// fake API server: the node's field selector is in every request, and the
// informer syncs whether client-go streams the list or lists then watches.
func TestAPI(t *testing.T) {
	s := &fakeServer{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close) // after the informer stopped watching (cleanups run last first)
	api, err := NewAPI(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := startPods(t, api)
	if got, ok := p.Lookup(uidA, cidApp); !ok || got.Name != "web" || got.Container != "app" {
		t.Errorf("Lookup = %+v, %v", got, ok)
	}
	s.mu.Lock()
	t.Logf("pods requests: %q", s.queries)
	s.mu.Unlock()

	ev, err := NewEvents(EventsConfig{API: api, Source: &fakeSource{}, Node: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	e := ev.event(watched(7, "web", "finalizer_stall"), watched(7, "web", "finalizer_stall").Sample.Findings[0], time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := api.CreateEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) != 1 || s.events[0].Reason != "FinalizerStall" || s.events[0].InvolvedObject.Name != "web" {
		t.Errorf("events the server got: %+v", s.events)
	}
}
