package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/memsight/memsight/pkg/model"
)

// Component is the source component of memsight's Events.
const Component = "memsight"

// maxMessage bounds an Event's message (events.k8s.io/v1 allows 1 kB).
const maxMessage = 1024

// Source is what Events polls for findings (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
}

// EventsConfig configures Events. Zero values take the defaults.
type EventsConfig struct {
	API    API
	Source Source
	// Pods, when set, gives static pods' Events the UID of their mirror pod
	// in the API (the cgroup has the static pod's own), so that kubectl
	// describe lists them.
	Pods *Pods
	Node string // the Events' source host
	// Interval is how often Source is polled (default 1s, the agent's
	// sampling interval).
	Interval time.Duration
	// QueueSize bounds the Events waiting to be created; beyond, new ones
	// are dropped and counted (default 256).
	QueueSize int
	Timeout   time.Duration // per request (default 10s)
	Logger    *slog.Logger  // nil discards
}

// Events posts a Kubernetes Event (type Warning, reason FinalizerStall,
// RSSGrowth, …) on a process's pod when one of its findings fires: once per
// finding until it resolves. Findings of processes outside known pods are
// not posted (they are posted if the pod becomes known while the finding
// is active).
type Events struct {
	cfg    EventsConfig
	log    *slog.Logger
	posted map[findingKey]bool // Observe's only
	queue  chan *corev1.Event
	m      *prometheus.CounterVec
}

type findingKey struct {
	pid  int
	kind string
}

// NewEvents returns an Events that does nothing until Run.
func NewEvents(cfg EventsConfig) (*Events, error) {
	if cfg.API == nil || cfg.Source == nil {
		return nil, errors.New("kube: EventsConfig.API and Source are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: prometheus.BuildFQName("memsight", "kube", "events_total"),
		Help: "Kubernetes Events for findings, by result: created, failed (the API server refused or did not answer), dropped (queue full).",
	}, []string{"result"})
	for _, r := range []string{"created", "failed", "dropped"} {
		m.WithLabelValues(r)
	}
	return &Events{cfg: cfg, log: cfg.Logger.With("component", "kube-events"), posted: map[findingKey]bool{},
		queue: make(chan *corev1.Event, cfg.QueueSize), m: m}, nil
}

// Collectors are the recorder's metrics, for the exporter's registry.
func (e *Events) Collectors() []prometheus.Collector { return []prometheus.Collector{e.m} }

// Run polls the Source every Interval and creates the Events until ctx is
// done. Events still queued then are dropped: they are best effort.
func (e *Events) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.send(ctx)
	}()
	t := time.NewTicker(e.cfg.Interval)
	defer t.Stop()
	for {
		e.Observe(e.cfg.Source.Snapshot())
		select {
		case <-ctx.Done():
			<-done
			return
		case <-t.C:
		}
	}
}

// Observe queues an Event for each finding that fired since the last call
// and forgets the findings that resolved. Run calls it; call it directly
// only instead of Run, never concurrently.
func (e *Events) Observe(snap model.Snapshot) {
	seen := make(map[findingKey]bool, len(e.posted))
	for p, f := range snap.Findings() {
		k := findingKey{p.PID, f.Kind}
		seen[k] = true
		if e.posted[k] || p.Pod == "" || p.Namespace == "" {
			continue
		}
		e.posted[k] = true
		e.enqueue(e.event(p, f, snap.Time))
	}
	for k := range e.posted {
		if !seen[k] {
			delete(e.posted, k)
		}
	}
}

func (e *Events) enqueue(ev *corev1.Event) {
	select {
	case e.queue <- ev:
	default:
		e.m.WithLabelValues("dropped").Inc()
		e.log.Warn("Kubernetes Event queue full: dropping an Event", "queue_size", e.cfg.QueueSize,
			"namespace", ev.Namespace, "pod", ev.InvolvedObject.Name, "reason", ev.Reason)
	}
}

// send creates the queued Events one at a time (the API client is rate
// limited too).
func (e *Events) send(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-e.queue:
			rctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
			_, err := e.cfg.API.CreateEvent(rctx, ev)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				e.m.WithLabelValues("failed").Inc()
				e.log.Warn("creating a Kubernetes Event: check the ClusterRole (events: create)", "namespace", ev.Namespace,
					"pod", ev.InvolvedObject.Name, "reason", ev.Reason, "error", err)
				continue
			}
			e.m.WithLabelValues("created").Inc()
			e.log.Debug("Kubernetes Event created", "namespace", ev.Namespace, "pod", ev.InvolvedObject.Name, "reason", ev.Reason)
		}
	}
}

// event is the Event of finding f of process p, at now.
func (e *Events) event(p model.Process, f model.Finding, now time.Time) *corev1.Event {
	if now.IsZero() {
		now = time.Now()
	}
	uid := p.PodUID
	if e.cfg.Pods != nil {
		if u, ok := e.cfg.Pods.objectUID(p.PodUID); ok {
			uid = u
		}
	}
	msg := fmt.Sprintf("%s (pid %d, %s", f.Summary, p.PID, p.Comm)
	if p.Container != "" {
		msg += ", container " + p.Container
	}
	msg += ")"
	msg = truncate(msg, maxMessage)
	t := metav1.NewTime(now)
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", p.Pod, now.UnixNano()), Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", APIVersion: "v1", Namespace: p.Namespace, Name: p.Pod, UID: types.UID(uid),
		},
		Reason:              Reason(f.Kind),
		Message:             msg,
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: Component, Host: e.cfg.Node},
		FirstTimestamp:      t,
		LastTimestamp:       t,
		Count:               1,
		ReportingController: Component,
		ReportingInstance:   e.cfg.Node,
	}
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
