package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/memsight/memsight/pkg/model"
)

// Profiles reads profiles and keeps evidence (*agent.Agent).
type Profiles interface {
	Profile(ctx context.Context, pid int, kind string, wait bool) (*model.Profile, error)
	Evidence(id string) (*model.Evidence, bool)
	EvidenceList() []*model.Evidence
}

// pprofKinds maps the path's profile name to the agent's kind. "allocs"
// is the heap profile with alloc_space as its default sample type, as
// net/http/pprof serves /debug/pprof/allocs.
var pprofKinds = map[string]string{
	"heap": model.ProfileHeap, "allocs": model.ProfileHeap,
	"goroutine": model.ProfileGoroutine, "alloc": model.ProfileAlloc,
}

// pprof serves GET /api/v1/processes/{pid}/pprof/{kind}: a gzipped pprof
// profile read now (`go tool pprof URL` reads it).
func (s *server) pprof(w http.ResponseWriter, r *http.Request) {
	pid, err := strconv.Atoi(r.PathValue("pid"))
	if err != nil || pid <= 0 {
		s.error(w, http.StatusBadRequest, fmt.Sprintf("pid must be a positive integer, got %q", r.PathValue("pid")))
		return
	}
	name := r.PathValue("kind")
	kind, ok := pprofKinds[name]
	if !ok {
		s.error(w, http.StatusNotFound, fmt.Sprintf("no profile %q: heap, allocs, goroutine", name))
		return
	}
	p, err := s.prof.Profile(r.Context(), pid, kind, false)
	if err != nil {
		s.profileError(w, err)
		return
	}
	if name == "allocs" {
		p.Profile.DefaultSampleType = "alloc_space"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d.pb.gz"`, name, pid))
	w.Header().Set("X-Memsight-Read-Bytes", strconv.FormatInt(p.ReadBytes, 10))
	if err := p.Profile.Write(w); err != nil {
		s.log.Debug("writing profile", "pid", pid, "kind", kind, "error", err)
	}
}

// profileError answers a failed profile read: 404 not watched, 422 no such
// profile or over the read budget, 429 too many at once.
func (s *server) profileError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, model.ErrNotWatched):
		s.error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, model.ErrNoProfile), errors.Is(err, model.ErrReadBudget):
		s.error(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, model.ErrProfileBusy):
		w.Header().Set("Retry-After", "1")
		s.error(w, http.StatusTooManyRequests, err.Error())
	default:
		s.error(w, http.StatusInternalServerError, err.Error())
	}
}
