package main

import (
	"os"
	"regexp"
	"time"

	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/export/webhook"
)

// configFlags are the agent's flags about its configuration file.
type configFlags struct {
	path, profile         string
	webhookURL, webhookFm string
}

func addConfigFlags(f *pflag.FlagSet, c *configFlags) {
	f.StringVar(&c.path, "config", "", "YAML configuration file (see docs/config.md); reloaded on change and on SIGHUP; flags override it")
	f.StringVar(&c.profile, "profile", "", "threshold profile: dev, staging or prod (default: the file's, else prod)")
	f.StringVar(&c.webhookURL, "webhook-url", "", "POST findings (fire and resolve) to this URL")
	f.StringVar(&c.webhookFm, "webhook-format", "", "webhook body: json or alertmanager (default json)")
}

// loadSettings reads the configuration file (if any) under the profile and
// puts the flags given on the command line on top. It is called at start
// and at each reload.
func loadSettings(f *config.File, flags *pflag.FlagSet, o *agentOptions) (config.Settings, error) {
	s, err := config.Resolve(f, o.conf.profile)
	if err != nil {
		return s, err
	}
	set := func(name string, apply func()) {
		if flags.Changed(name) {
			apply()
		}
	}
	set("listen", func() { s.Listen = o.listen })
	set("pprof", func() { s.Pprof = o.pprof })
	set("interval", func() { s.Interval = o.cfg.Interval })
	set("min-process-age", func() { s.MinProcessAge = &o.cfg.MinProcessAge })
	set("max-processes", func() { s.MaxProcesses = o.cfg.MaxProcesses })
	set("stall-threshold", func() { s.Detect.StallThreshold = o.cfg.Detect.StallThreshold })
	set("backlog-window", func() { s.Detect.BacklogWindow = o.cfg.Detect.BacklogWindow })
	set("webhook-url", func() { s.Webhook.URL = o.conf.webhookURL })
	set("webhook-format", func() { s.Webhook.Format = o.conf.webhookFm })
	for _, r := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{{"exclude-comm", o.excludeComm, &s.ExcludeComm}, {"include-comm", o.includeComm, &s.IncludeComm}} {
		if !flags.Changed(r.flag) {
			continue
		}
		if r.expr == "" { // an empty flag removes the file's rule (an empty regexp would match every comm)
			*r.dst = nil
			continue
		}
		re, err := regexp.Compile(r.expr)
		if err != nil {
			return s, usagef("--%s: %v", r.flag, err)
		}
		*r.dst = re
	}
	applyWebFlags(&s, flags, o.web)
	if err := applyProfileFlags(&s, flags, o.profiles); err != nil {
		return s, err
	}
	if err := applyFilterFlags(&s, flags, o.filters); err != nil {
		return s, err
	}
	if s.Webhook.Format != "" && s.Webhook.Format != config.FormatJSON && s.Webhook.Format != config.FormatAlertmanager {
		return s, usagef("--webhook-format: unknown format %q (allowed: json, alertmanager)", s.Webhook.Format)
	}
	if s.Listen == "" {
		s.Listen = o.listen
	}
	if s.Interval == 0 {
		s.Interval = o.cfg.Interval
	}
	if s.MaxProcesses == 0 {
		s.MaxProcesses = o.cfg.MaxProcesses
	}
	if s.MinProcessAge == nil {
		s.MinProcessAge = &o.cfg.MinProcessAge
	}
	return s, nil
}

// readConfig loads the configuration file, nil without --config.
func readConfig(path string) (*config.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, usagef("--config: %v", err)
	}
	return f, nil
}

func tunables(s config.Settings) agent.Tunables {
	return agent.Tunables{Detect: s.Detect, IncludeComm: s.IncludeComm, ExcludeComm: s.ExcludeComm, Filters: filters(s),
		MaxProcesses: s.MaxProcesses, MinProcessAge: minProcessAge(s)}
}

func webhookConfig(s config.Settings) webhook.Config {
	w := s.Webhook
	node, _ := os.Hostname()
	return webhook.Config{URL: w.URL, Format: w.Format, Secret: w.Secret, Timeout: w.Timeout, MaxRetries: w.MaxRetries,
		Backoff: w.Backoff, MaxBackoff: w.MaxBackoff, QueueSize: w.QueueSize, FlushTimeout: w.FlushTimeout, Resend: w.Resend, Node: node}
}

// reloader applies a reloaded file to the running agent and webhook sink.
// Listen, pprof and interval changes need a restart; they are reported.
func reloader(flags *pflag.FlagSet, o *agentOptions, running config.Settings, ag *agent.Agent, sink *webhook.Sink,
	warn func(msg string, args ...any),
) func(*config.File) error {
	return func(f *config.File) error {
		s, err := loadSettings(f, flags, o)
		if err != nil {
			return err
		}
		if err := ag.Reconfigure(tunables(s)); err != nil {
			return err
		}
		sink.SetConfig(webhookConfig(s))
		if s.Listen != running.Listen || s.Interval != running.Interval || s.WebConfigFile != running.WebConfigFile ||
			s.HealthListen != running.HealthListen || s.Pprof != running.Pprof {
			warn("listen, interval, web_config_file, health_listen and pprof changes take effect at the next restart",
				"listen", running.Listen, "new_listen", s.Listen, "interval", running.Interval, "new_interval", s.Interval,
				"web_config_file", running.WebConfigFile, "new_web_config_file", s.WebConfigFile,
				"health_listen", running.HealthListen, "new_health_listen", s.HealthListen,
				"pprof", running.Pprof, "new_pprof", s.Pprof)
		}
		return nil
	}
}

// checkIntervals validates the resolved intervals like the flags were.
func checkIntervals(s config.Settings, rescan time.Duration) error {
	if s.Interval < 10*time.Millisecond || rescan < 10*time.Millisecond {
		return usagef("--interval and --rescan-interval must be at least 10ms")
	}
	if s.MaxProcesses <= 0 || minProcessAge(s) < 0 {
		return usagef("--max-processes must be positive and --min-process-age not negative")
	}
	return nil
}

// minProcessAge is the resolved minimum process age (loadSettings fills in
// the flag's value when the file has none).
func minProcessAge(s config.Settings) time.Duration {
	if s.MinProcessAge == nil {
		return agent.DefaultMinProcessAge
	}
	return *s.MinProcessAge
}
