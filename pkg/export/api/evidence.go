package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// EvidenceView is the body of GET /api/v1/evidence/{id}: the bundle, with
// a link to each profile.
type EvidenceView struct {
	*model.Evidence
	// Links are the bundle's profiles, by snapshot ("fired", "resolved")
	// and name: gzipped pprof, for go tool pprof.
	Links map[string]map[string]string `json:"links"`
}

// EvidenceSummary is one bundle of GET /api/v1/evidence.
type EvidenceSummary struct {
	ID         string     `json:"id"`
	URL        string     `json:"url"`
	PID        int        `json:"pid"`
	Comm       string     `json:"comm"`
	Pod        string     `json:"pod,omitempty"`
	Namespace  string     `json:"namespace,omitempty"`
	Kind       string     `json:"kind"`
	Since      time.Time  `json:"since"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// EvidenceURL is the path of a bundle on the agent.
func EvidenceURL(id string) string { return "/api/v1/evidence/" + id }

func (s *server) evidenceList(w http.ResponseWriter, _ *http.Request) {
	out := []EvidenceSummary{}
	for _, ev := range s.prof.EvidenceList() {
		e := EvidenceSummary{ID: ev.ID, URL: EvidenceURL(ev.ID), PID: ev.PID, Comm: ev.Process.Comm, Pod: ev.Process.Pod,
			Namespace: ev.Process.Namespace, Kind: ev.Kind, Since: ev.Since}
		if ev.Resolved != nil {
			t := ev.Resolved.Time
			e.ResolvedAt = &t
		}
		out = append(out, e)
	}
	s.write(w, http.StatusOK, map[string]any{"evidence": out})
}

func (s *server) evidence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ev, ok := s.prof.Evidence(id)
	if !ok {
		s.error(w, http.StatusNotFound, fmt.Sprintf("no evidence %q: not captured yet (it takes a moment after the finding fires), or evicted (the agent keeps a bounded amount, in memory only)", id))
		return
	}
	v := EvidenceView{Evidence: ev, Links: map[string]map[string]string{}}
	for when, snap := range map[string]*model.EvidenceSnapshot{"fired": ev.Fired, "resolved": ev.Resolved} {
		if snap == nil {
			continue
		}
		links := map[string]string{}
		for _, name := range snap.Names {
			links[name] = fmt.Sprintf("%s/%s/%s", EvidenceURL(id), when, name)
		}
		v.Links[when] = links
	}
	s.write(w, http.StatusOK, v)
}

// evidenceProfile serves one profile of a bundle, gzipped pprof.
func (s *server) evidenceProfile(w http.ResponseWriter, r *http.Request) {
	id, when, name := r.PathValue("id"), r.PathValue("when"), r.PathValue("name")
	ev, ok := s.prof.Evidence(id)
	if !ok {
		s.error(w, http.StatusNotFound, fmt.Sprintf("no evidence %q", id))
		return
	}
	var snap *model.EvidenceSnapshot
	switch when {
	case "fired":
		snap = ev.Fired
	case "resolved":
		snap = ev.Resolved
	}
	var b []byte
	if snap != nil {
		b = snap.Profiles[name]
	}
	if b == nil {
		s.error(w, http.StatusNotFound, fmt.Sprintf("evidence %q has no %s profile %q", id, when, name))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.pb.gz"`, id, when, name))
	_, _ = w.Write(b)
}
