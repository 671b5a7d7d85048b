package prom

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/memsight/memsight/pkg/model"
)

// Source is what the exporter reads at every scrape (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
}

// Config configures the exporter.
type Config struct {
	Source Source
	// FindingKinds are reported as memsight_finding_active 0 or 1 for every
	// watched process, so that alerts see a 0 before a 1; an active finding
	// of another kind is reported (1) too.
	FindingKinds []string
	// AttachErrorReasons are reported as memsight_agent_attach_errors_total
	// from 0 (default: the agent's reasons).
	AttachErrorReasons []string
	// Build is the agent's own version, exported as memsight_build_info.
	Build BuildInfo
	// Logger receives errors collecting and serving metrics. Nil discards them.
	Logger *slog.Logger
}

// BuildInfo is memsight_build_info's labels; an empty value is "unknown".
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// Exporter serves memsight's metrics.
type Exporter struct {
	reg *prometheus.Registry
	log *slog.Logger
}

// New returns an Exporter whose registry holds memsight's collector and
// client_golang's process and Go collectors (the agent's own CPU, memory and
// runtime).
func New(cfg Config) (*Exporter, error) {
	if cfg.Source == nil {
		return nil, errors.New("prometheus exporter: Source is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AttachErrorReasons == nil {
		cfg.AttachErrorReasons = []string{
			model.ReasonPermission, model.ReasonUnsupported,
			model.ReasonProbe, model.ReasonRuntime, model.ReasonPanic,
		}
	}
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		&collector{src: cfg.Source, kinds: cfg.FindingKinds, attachErrors: cfg.AttachErrorReasons, build: cfg.Build.orUnknown(), d: newDescs()},
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering a collector: %w", err)
		}
	}
	return &Exporter{reg: reg, log: cfg.Logger.With("component", "prom")}, nil
}

// Registry is the exporter's registry (for tests and extra collectors).
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Handler serves the metrics in the Prometheus text or OpenMetrics format.
// A collector error is logged and the other metrics are still served.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      e.reg,
	})
}

func (b BuildInfo) orUnknown() BuildInfo {
	for _, v := range []*string{&b.Version, &b.Revision, &b.GoVersion} {
		if *v == "" {
			*v = "unknown"
		}
	}
	return b
}
