package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Source is what the API reads at every request (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
}

// Config configures the API.
type Config struct {
	Source Source
	Logger *slog.Logger // nil discards
	// Profiles, when set, serves the pprof endpoints, the evidence and the
	// scrape targets (pprof.go, evidence.go, targets.go).
	Profiles Profiles
	// Address is the agent's address in the scrape targets ("" : the Host
	// of the request); Node names the machine (label node).
	Address, Node string
}

// ProcessList is the body of GET /api/v1/processes.
type ProcessList struct {
	Time      time.Time     `json:"time"`
	Processes []ProcessView `json:"processes"`
}

// ProcessView is one Go process of the list: model.Process and a summary
// of its latest sample (null and empty when not watched or not sampled yet).
type ProcessView struct {
	model.Process
	SampledAt *time.Time `json:"sampled_at"`
	RSSBytes  *uint64    `json:"rss_bytes"`
	Findings  []string   `json:"findings"` // kinds of the active findings
}

// FindingList is the body of GET /api/v1/findings.
type FindingList struct {
	Time     time.Time      `json:"time"`
	Findings []FindingEntry `json:"findings"`
}

// FindingEntry is one active finding with the process it is about.
type FindingEntry struct {
	PID         int    `json:"pid"`
	Comm        string `json:"comm"`
	GoVersion   string `json:"go_version"`
	ContainerID string `json:"container_id"`
	PodUID      string `json:"pod_uid"`
	Pod         string `json:"pod"`
	Namespace   string `json:"namespace"`
	Container   string `json:"container"`
	model.Finding
	// EvidenceURL is the path of the finding's evidence on the agent
	// (GET it for the sample, census and profile links); it is captured a
	// moment after the finding fires.
	EvidenceURL string `json:"evidence_url,omitempty"`
}

// New returns the API's handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Source == nil {
		return nil, fmt.Errorf("api: Source is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{src: cfg.Source, log: cfg.Logger.With("component", "api"), prof: cfg.Profiles, addr: cfg.Address, node: cfg.Node}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/processes", s.processes)
	mux.HandleFunc("GET /api/v1/processes/{pid}", s.process)
	mux.HandleFunc("GET /api/v1/findings", s.findings)
	if s.prof != nil {
		mux.HandleFunc("GET /api/v1/processes/{pid}/pprof/{kind}", s.pprof)
		mux.HandleFunc("GET /api/v1/targets", s.targets)
		mux.HandleFunc("GET /api/v1/evidence", s.evidenceList)
		mux.HandleFunc("GET /api/v1/evidence/{id}", s.evidence)
		mux.HandleFunc("GET /api/v1/evidence/{id}/{when}/{name}", s.evidenceProfile)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	return mux, nil
}

type server struct {
	src        Source
	log        *slog.Logger
	prof       Profiles
	addr, node string
}

func (s *server) processes(w http.ResponseWriter, _ *http.Request) {
	snap := s.src.Snapshot()
	out := ProcessList{Time: snap.Time, Processes: make([]ProcessView, 0, len(snap.Processes))}
	for _, p := range snap.Processes {
		v := ProcessView{Process: p, Findings: []string{}}
		if smp := p.Sample; smp != nil {
			t, rss := smp.Time, smp.RSSBytes
			v.SampledAt, v.RSSBytes = &t, &rss
			for _, f := range smp.Findings {
				v.Findings = append(v.Findings, f.Kind)
			}
		}
		out.Processes = append(out.Processes, v)
	}
	s.write(w, http.StatusOK, out)
}

func (s *server) process(w http.ResponseWriter, r *http.Request) {
	pid, err := strconv.Atoi(r.PathValue("pid"))
	if err != nil || pid <= 0 {
		s.error(w, http.StatusBadRequest, fmt.Sprintf("pid must be a positive integer, got %q", r.PathValue("pid")))
		return
	}
	for _, p := range s.src.Snapshot().Processes {
		if p.PID != pid {
			continue
		}
		switch {
		case p.Sample != nil:
			s.write(w, http.StatusOK, p.Sample)
		case p.State == model.StateWatching:
			s.error(w, http.StatusNotFound, fmt.Sprintf("pid %d: no sample yet", pid))
		default:
			s.error(w, http.StatusNotFound, fmt.Sprintf("pid %d is not watched (%s): %s", pid, p.State, p.Reason))
		}
		return
	}
	s.error(w, http.StatusNotFound, fmt.Sprintf("pid %d is not a Go process memsight knows", pid))
}

func (s *server) findings(w http.ResponseWriter, _ *http.Request) {
	snap := s.src.Snapshot()
	out := FindingList{Time: snap.Time, Findings: []FindingEntry{}}
	for p, f := range snap.Findings() {
		out.Findings = append(out.Findings, FindingEntry{
			PID: p.PID, Comm: p.Comm, GoVersion: p.GoVersion, ContainerID: p.ContainerID,
			PodUID: p.PodUID, Pod: p.Pod, Namespace: p.Namespace, Container: p.Container, Finding: f,
			EvidenceURL: s.evidenceURL(p.PID, f),
		})
	}
	s.write(w, http.StatusOK, out)
}

// evidenceURL links an active finding to its evidence ("" without Profiles).
func (s *server) evidenceURL(pid int, f model.Finding) string {
	if s.prof == nil {
		return ""
	}
	return EvidenceURL(model.EvidenceID(pid, f.Kind, f.Since))
}

func (s *server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.src.Snapshot().Stats.Ready {
		http.Error(w, "initial scan in progress", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *server) error(w http.ResponseWriter, code int, msg string) {
	s.write(w, code, map[string]string{"error": msg})
}

func (s *server) write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("writing response", "error", err)
	}
}
