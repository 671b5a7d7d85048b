package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/export/pyroscope"
	"github.com/memsight/memsight/pkg/model"
)

// profileFlags are the agent's flags about profiles, evidence and the
// Pyroscope push.
type profileFlags struct {
	pyroscope                       config.PyroscopeFile
	interval                        time.Duration
	readBudget                      int64
	concurrency, evidencePerProcess int
	evidenceBytes                   int64
}

func addProfileFlags(f *pflag.FlagSet, p *profileFlags) {
	f.StringVar(&p.pyroscope.URL, "pyroscope-url", "", "push every watched process's heap and goroutine profiles to this Pyroscope server (its base URL) every --profile-interval")
	f.DurationVar(&p.interval, "profile-interval", pyroscope.DefaultInterval, "time between two pushes of a process's profiles to Pyroscope")
	f.StringVar(&p.pyroscope.BasicAuthUser, "pyroscope-basic-auth-user", "", "basic auth user for --pyroscope-url (the password from --pyroscope-basic-auth-password-file)")
	f.StringVar(&p.pyroscope.BasicAuthPasswordFile, "pyroscope-basic-auth-password-file", "", "file holding the basic auth password for --pyroscope-url")
	f.StringVar(&p.pyroscope.BearerTokenFile, "pyroscope-bearer-token-file", "", "file holding a bearer token for --pyroscope-url")
	f.StringVar(&p.pyroscope.TenantID, "pyroscope-tenant-id", "", "tenant of a multi-tenant Pyroscope (sent as X-Scope-OrgID)")
	f.StringVar(&p.pyroscope.TenantIDFile, "pyroscope-tenant-id-file", "", "file holding the tenant of a multi-tenant Pyroscope")
	f.Int64Var(&p.readBudget, "profile-read-budget", 0, "bytes one profile may read from a target (default 64 MiB)")
	f.IntVar(&p.concurrency, "profile-concurrency", 0, "profiles read at once (default 2); API requests beyond get 429")
	f.Int64Var(&p.evidenceBytes, "evidence-bytes", 0, "bytes of evidence (profiles of findings) kept in memory, all processes together (default 8 MiB)")
	f.IntVar(&p.evidencePerProcess, "evidence-per-process", 0, "evidence bundles kept per process (default 8)")
}

// applyProfileFlags puts the profile flags given on the command line over
// s; the push's secret files are read again when a push flag is given.
func applyProfileFlags(s *config.Settings, flags *pflag.FlagSet, p profileFlags) error {
	set := func(name string, apply func()) {
		if flags.Changed(name) {
			apply()
		}
	}
	var err error
	set("profile-interval", func() {
		if p.interval < time.Second {
			err = usagef("--profile-interval: want a duration of at least 1s such as 60s, got %v", p.interval)
		}
		s.Profiles.Interval = p.interval
	})
	set("profile-read-budget", func() { s.Profiles.ReadBudget = p.readBudget })
	set("profile-concurrency", func() { s.Profiles.Concurrency = p.concurrency })
	set("evidence-bytes", func() { s.Profiles.EvidenceBytes = p.evidenceBytes })
	set("evidence-per-process", func() { s.Profiles.EvidencePerProcess = p.evidencePerProcess })
	if err != nil {
		return err
	}
	changed := false
	f := config.PyroscopeFile{URL: s.Profiles.Pyroscope.URL, BasicAuthUser: s.Profiles.Pyroscope.BasicAuthUser,
		BasicAuthPasswordFile: s.Profiles.Pyroscope.PasswordFile, BearerTokenFile: s.Profiles.Pyroscope.TokenFile,
		TenantID: s.Profiles.Pyroscope.TenantID, TenantIDFile: s.Profiles.Pyroscope.TenantFile, Timeout: s.Profiles.Pyroscope.Timeout,
		MaxRetries: s.Profiles.Pyroscope.MaxRetries, QueueSize: s.Profiles.Pyroscope.QueueSize}
	for name, apply := range map[string]func(){
		"pyroscope-url":                      func() { f.URL = p.pyroscope.URL },
		"pyroscope-basic-auth-user":          func() { f.BasicAuthUser = p.pyroscope.BasicAuthUser },
		"pyroscope-basic-auth-password-file": func() { f.BasicAuthPasswordFile = p.pyroscope.BasicAuthPasswordFile },
		"pyroscope-bearer-token-file":        func() { f.BearerTokenFile = p.pyroscope.BearerTokenFile },
		"pyroscope-tenant-id":                func() { f.TenantID, f.TenantIDFile = p.pyroscope.TenantID, "" },
		"pyroscope-tenant-id-file":           func() { f.TenantID, f.TenantIDFile = "", p.pyroscope.TenantIDFile },
	} {
		if flags.Changed(name) {
			apply()
			changed = true
		}
	}
	if !changed {
		return nil
	}
	ps, perr := config.ResolvePyroscope(f)
	if perr != nil {
		return usagef("--pyroscope-*: %v", perr)
	}
	s.Profiles.Pyroscope = ps
	return nil
}

// agentProfileConfig is the agent's ProfileConfig from the settings.
func agentProfileConfig(s config.Settings) agent.ProfileConfig {
	p := s.Profiles
	return agent.ProfileConfig{ReadBudget: p.ReadBudget, Concurrency: p.Concurrency, HeapRing: p.HeapRing,
		EvidenceBytes: p.EvidenceBytes, EvidencePerProcess: p.EvidencePerProcess}
}

// newPusher returns the Pyroscope pusher, nil without a URL.
func newPusher(s config.Settings, ag *agent.Agent, log *slog.Logger) (*pyroscope.Pusher, []prometheus.Collector, error) {
	p := s.Profiles.Pyroscope
	if p.URL == "" {
		return nil, nil, nil
	}
	node, _ := os.Hostname()
	if s.Kubernetes.NodeName != "" {
		node = s.Kubernetes.NodeName
	} else if n := os.Getenv("NODE_NAME"); n != "" {
		node = n
	}
	pu, err := pyroscope.New(pyroscope.Config{URL: p.URL, Interval: s.Profiles.Interval, BasicAuthUser: p.BasicAuthUser,
		BasicAuthPassword: p.BasicAuthPassword, BearerToken: p.BearerToken, TenantID: p.TenantID, Timeout: p.Timeout,
		MaxRetries: p.MaxRetries, QueueSize: p.QueueSize, Node: node}, pyroscope.Options{Source: ag, Logger: log})
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	return pu, pu.Collectors(), nil
}

// runPusher runs p until ctx is done; nil p does nothing.
func runPusher(ctx context.Context, p *pyroscope.Pusher) {
	if p != nil {
		p.Run(ctx)
	}
}

// profileSource is what profileCollector reads (*agent.Agent).
type profileSource interface {
	EvidenceStats() agent.EvidenceStats
	ProfileStats() map[[2]string]uint64
}

// profileCollector exports the agent's profile reads and what it keeps for
// evidence.
type profileCollector struct {
	src                                  profileSource
	reads, bundles, bytes, ring, dropped *prometheus.Desc
}

func newProfileCollector(src profileSource) *profileCollector {
	name := func(sub, n string) string { return prometheus.BuildFQName("memsight", sub, n) }
	return &profileCollector{
		src: src,
		reads: prometheus.NewDesc(name("profile", "reads_total"),
			"Profiles read from a watched process's memory on request (API, Pyroscope push), by kind and result (ok, busy: over --profile-concurrency, no_profile, over_budget, not_watched, error).",
			[]string{"kind", "result"}, nil),
		bundles: prometheus.NewDesc(name("evidence", "bundles"), "Evidence bundles kept (one per finding that fired), in memory.", nil, nil),
		bytes:   prometheus.NewDesc(name("evidence", "bytes"), "Bytes of evidence kept (bounded by --evidence-bytes).", nil, nil),
		ring:    prometheus.NewDesc(name("evidence", "heap_ring_bytes"), "Bytes of heap profile counts kept for growth evidence (profiles.heap_ring_interval).", nil, nil),
		dropped: prometheus.NewDesc(name("evidence", "dropped_total"), "Findings whose evidence was not captured: the capture queue was full.", nil, nil),
	}
}

func (c *profileCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.reads, c.bundles, c.bytes, c.ring, c.dropped} {
		ch <- d
	}
}

func (c *profileCollector) Collect(ch chan<- prometheus.Metric) {
	reads := c.src.ProfileStats()
	for _, kind := range []string{model.ProfileHeap, model.ProfileGoroutine} {
		for _, r := range []string{agent.ResultOK, agent.ResultBusy, agent.ResultNone, agent.ResultBudget, agent.ResultNotFound, agent.ResultError} {
			ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(reads[[2]string{kind, r}]), kind, r)
		}
	}
	s := c.src.EvidenceStats()
	ch <- prometheus.MustNewConstMetric(c.bundles, prometheus.GaugeValue, float64(s.Bundles))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes))
	ch <- prometheus.MustNewConstMetric(c.ring, prometheus.GaugeValue, float64(s.HeapRingBytes))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped))
}
