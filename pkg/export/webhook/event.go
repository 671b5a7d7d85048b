package webhook

import (
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Statuses of an Event.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Event is one finding firing or resolving on one process: the JSON
// document POSTed in the json format.
type Event struct {
	Status      string         `json:"status"`
	Kind        string         `json:"kind"`
	Severity    string         `json:"severity"`
	Summary     string         `json:"summary"`
	Since       time.Time      `json:"since"`                 // when the finding started
	ResolvedAt  *time.Time     `json:"resolved_at,omitempty"` // resolved events only
	Node        string         `json:"node,omitempty"`
	PID         int            `json:"pid"`
	Comm        string         `json:"comm"`
	Exe         string         `json:"exe"`
	GoVersion   string         `json:"go_version"`
	ContainerID string         `json:"container_id,omitempty"`
	PodUID      string         `json:"pod_uid,omitempty"`
	Pod         string         `json:"pod,omitempty"` // pod name, when Kubernetes enrichment knows it
	Namespace   string         `json:"namespace,omitempty"`
	Container   string         `json:"container,omitempty"` // container name, likewise
	Evidence    map[string]any `json:"evidence,omitempty"`
	// EvidenceURL is the path, on the agent of Node, of what the agent
	// kept when the finding fired (and resolved): GET it for the sample,
	// the goroutine census and the profiles' links. In memory only: an
	// agent restart loses it.
	EvidenceURL string `json:"evidence_url,omitempty"`
}

// key identifies a finding of a process; Since tells a PID's new process
// apart only if the finding restarted, which a resolve in between ensures.
type key struct {
	pid  int
	kind string
}

// tracker diffs successive snapshots into events.
type tracker struct {
	active map[key]Event
	sent   map[key]time.Time // when each active finding was last queued
}

// diff returns the events between the last snapshot and snap: new findings
// fire, findings gone (cleared, or the process no longer watched) resolve.
func (tr *tracker) diff(snap model.Snapshot, node string) []Event {
	var evs []Event
	seen := make(map[key]bool, len(tr.active))
	for p, f := range snap.Findings() {
		k := key{p.PID, f.Kind}
		seen[k] = true
		if _, ok := tr.active[k]; ok {
			continue
		}
		ev := newEvent(p, f, node)
		tr.active[k] = ev
		tr.sent[k] = snap.Time
		evs = append(evs, ev)
	}
	for k, ev := range tr.active {
		if seen[k] {
			continue
		}
		delete(tr.active, k)
		delete(tr.sent, k)
		at := snap.Time
		ev.Status, ev.ResolvedAt = StatusResolved, &at
		evs = append(evs, ev)
	}
	return evs
}

// due returns the firing events last queued at least every ago, and marks
// them queued now.
func (tr *tracker) due(now time.Time, every time.Duration) []Event {
	var evs []Event
	for k, ev := range tr.active {
		if now.Sub(tr.sent[k]) >= every {
			tr.sent[k] = now
			evs = append(evs, ev)
		}
	}
	return evs
}

func newEvent(p model.Process, f model.Finding, node string) Event {
	return Event{
		Status: StatusFiring, Kind: f.Kind, Severity: f.Severity, Summary: f.Summary, Since: f.Since, Node: node,
		PID: p.PID, Comm: p.Comm, Exe: p.Exe, GoVersion: p.GoVersion, ContainerID: p.ContainerID, PodUID: p.PodUID,
		Pod: p.Pod, Namespace: p.Namespace, Container: p.Container, Evidence: f.Evidence,
		EvidenceURL: "/api/v1/evidence/" + model.EvidenceID(p.PID, f.Kind, f.Since),
	}
}

// alertName is the Alertmanager alertname of a kind: finalizer_stall ->
// MemsightFinalizerStall.
func alertName(kind string) string {
	var b strings.Builder
	b.WriteString("Memsight")
	for w := range strings.SplitSeq(kind, "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
