package main

import (
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/export/prom"
)

// newAgentExporter returns the agent's Prometheus registry: memsight's
// metrics read from src, and the collectors of the other outputs (webhook
// sink, config watcher, Kubernetes Events). docs/metrics.md is checked
// against it (TestMetricsDoc).
func newAgentExporter(src prom.Source, version string, log *slog.Logger, extra ...prometheus.Collector) (*prom.Exporter, error) {
	exp, err := prom.New(prom.Config{Source: src, FindingKinds: agentFindingKinds(), Build: agentBuildInfo(version), Logger: log})
	if err != nil {
		return nil, err
	}
	for _, c := range extra {
		if err := exp.Registry().Register(c); err != nil {
			return nil, fmt.Errorf("registering a collector: %w", err)
		}
	}
	return exp, nil
}

// agentBuildInfo is memsight_build_info's labels: the version memsight
// reports, the VCS revision of its build info, and the Go it was built with.
func agentBuildInfo(version string) prom.BuildInfo {
	b := prom.BuildInfo{Version: version, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Revision = s.Value
			}
		}
	}
	return b
}
