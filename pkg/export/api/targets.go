package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/memsight/memsight/pkg/model"
)

// TargetGroup is one entry of Prometheus's HTTP service discovery format
// (https://prometheus.io/docs/prometheus/latest/http_sd/), the body of GET
// /api/v1/targets: one group per watched process.
type TargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// Labels of a target group. ProfilePathPrefixLabel is the label Grafana
// Alloy's pyroscope.scrape joins in front of each profile type's path
// (set the paths to /heap or /allocs and /goroutine); Parca takes it with
// one relabeling rule into __profile_path__ (docs/profiles.md).
const (
	ProfilePathPrefixLabel = "__profile_path_prefix__"
	SchemeLabel            = "__scheme__"
)

// targets serves the watched processes as scrape targets: the address is
// Config.Address, else the Host the request was sent to (whoever reached
// the agent for the list can reach it for the profiles).
func (s *server) targets(w http.ResponseWriter, r *http.Request) {
	addr := s.addr
	if addr == "" {
		addr = r.Host
	}
	out := []TargetGroup{}
	for _, p := range s.src.Snapshot().Processes {
		if p.State != model.StateWatching {
			continue
		}
		l := map[string]string{
			ProfilePathPrefixLabel: fmt.Sprintf("/api/v1/processes/%d/pprof", p.PID),
			"service_name":         model.ServiceName(p),
			"pid":                  strconv.Itoa(p.PID),
			"comm":                 p.Comm,
			"go_version":           p.GoVersion,
		}
		if r.TLS != nil {
			l[SchemeLabel] = "https"
		}
		for k, v := range map[string]string{"node": s.node, "pod": p.Pod, "namespace": p.Namespace, "container": p.Container, "owner": p.Owner, "container_id": p.ContainerID} {
			if v != "" {
				l[k] = v
			}
		}
		out = append(out, TargetGroup{Targets: []string{addr}, Labels: l})
	}
	s.write(w, http.StatusOK, out)
}
