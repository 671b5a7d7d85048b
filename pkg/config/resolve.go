package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/memsight/memsight/pkg/detect"
)

// Settings is a resolved configuration: the profile's thresholds with the
// file's on top, filters compiled, defaults filled in where the agent has
// none. Flags are applied on top by the caller.
type Settings struct {
	Profile string
	Listen  string // "" keeps the flag's default
	// WebConfigFile and HealthListen: see File; "" is none.
	WebConfigFile, HealthListen string
	Pprof                       string        // the agent's own pprof listener; "": none
	Interval                    time.Duration // 0 keeps the flag's default
	Detect                      detect.Config
	ExcludeComm                 *regexp.Regexp
	IncludeComm                 *regexp.Regexp
	// The cgroup and pod filters (excludes.cgroup, include_cgroup,
	// namespaces, include_namespaces, pod_selector); nil or empty: none.
	ExcludeCgroup, IncludeCgroup         *regexp.Regexp
	ExcludeNamespaces, IncludeNamespaces []string
	PodSelector                          labels.Selector
	MaxProcesses                         int            // 0 keeps the flag's default
	MinProcessAge                        *time.Duration // nil keeps the flag's default; 0: no minimum
	Webhook                              Webhook
	Kubernetes                           Kube
	Profiles                             ProfileSettings
}

// Kube is the resolved kubernetes section.
type Kube struct {
	Mode       string // KubeAuto, KubeOn or KubeOff
	Kubeconfig string
	NodeName   string // "": $NODE_NAME
	Events     bool
}

// Kubernetes modes.
const (
	KubeAuto = "auto"
	KubeOn   = "on"
	KubeOff  = "off"
)

// Webhook is the resolved webhook section; URL "" means no webhook.
type Webhook struct {
	URL          string
	Format       string // json or alertmanager
	Secret       []byte
	Timeout      time.Duration
	MaxRetries   int
	Backoff      time.Duration
	MaxBackoff   time.Duration
	QueueSize    int
	FlushTimeout time.Duration
	Resend       time.Duration // used by the alertmanager format only
}

// Webhook formats.
const (
	FormatJSON         = "json"
	FormatAlertmanager = "alertmanager"
)

// Resolve validates f and resolves it under profile (f.Profile when
// profile is ""). A nil f is an empty file. Each error is one line naming
// the key and what is allowed.
func Resolve(f *File, profile string) (Settings, error) {
	if f == nil {
		f = &File{}
	}
	if profile == "" {
		profile = f.Profile
	}
	if profile == "" {
		profile = ProfileProd
	}
	base, ok := Profile(profile)
	if !ok {
		return Settings{}, fmt.Errorf("profile: unknown profile %q (allowed: %s)", profile, strings.Join(Profiles(), ", "))
	}
	s := Settings{Profile: profile, Listen: f.Listen, Interval: f.Interval, WebConfigFile: f.WebConfigFile, HealthListen: f.HealthListen, Pprof: f.Pprof,
		MaxProcesses: f.Excludes.MaxProcesses, MinProcessAge: f.Excludes.MinProcessAge}
	var errs []error
	bad := func(key, format string, a ...any) { errs = append(errs, fmt.Errorf(key+": "+format, a...)) }
	if f.Interval != 0 && f.Interval < 10*time.Millisecond {
		bad("interval", "must be at least 10ms, got %v", f.Interval)
	}
	if f.Excludes.MaxProcesses < 0 {
		bad("excludes.max_processes", "must be positive, got %d", f.Excludes.MaxProcesses)
	}
	if a := f.Excludes.MinProcessAge; a != nil && *a < 0 {
		bad("excludes.min_process_age", "must not be negative, got %v", *a)
	}
	filters(f.Excludes, &s, bad)
	s.Detect = thresholds(base, f.Thresholds, bad)
	s.Kubernetes = Kube{Mode: f.Kubernetes.Mode, Kubeconfig: f.Kubernetes.Kubeconfig, NodeName: f.Kubernetes.NodeName, Events: true}
	switch s.Kubernetes.Mode {
	case "":
		s.Kubernetes.Mode = KubeAuto
	case KubeAuto, KubeOn, KubeOff:
	default:
		bad("kubernetes.mode", "unknown mode %q (allowed: %s, %s, %s)", s.Kubernetes.Mode, KubeAuto, KubeOn, KubeOff)
	}
	if f.Kubernetes.Events != nil {
		s.Kubernetes.Events = *f.Kubernetes.Events
	}
	var err error
	if s.Profiles, err = profiles(f.Profiles, bad); err != nil {
		errs = append(errs, err)
	}
	if s.Webhook, err = webhook(f.Webhook); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Settings{}, joined(errs)
	}
	return s, nil
}

// joined is errors.Join on one line: the messages separated by "; ".
type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, e := range j {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }

// thresholds puts t's non-zero values over base.
func thresholds(base detect.Config, t Thresholds, bad func(key, format string, a ...any)) detect.Config {
	dur := func(key string, v time.Duration, dst *time.Duration) {
		switch {
		case v < 0:
			bad("thresholds."+key, "must be a positive duration such as 2s, got %v", v)
		case v > 0:
			*dst = v
		}
	}
	num := func(key string, v float64, dst *float64) {
		switch {
		case v < 0:
			bad("thresholds."+key, "must be positive, got %v", v)
		case v > 0:
			*dst = v
		}
	}
	count := func(key string, v int, dst *int) {
		switch {
		case v < 0:
			bad("thresholds."+key, "must be a positive integer, got %d", v)
		case v > 0:
			*dst = v
		}
	}
	dur("stall_threshold", t.StallThreshold, &base.StallThreshold)
	dur("backlog_window", t.BacklogWindow, &base.BacklogWindow)
	dur("growth_window", t.GrowthWindow, &base.GrowthWindow)
	dur("growth_min_window", t.GrowthMinWindow, &base.GrowthMinWindow)
	dur("gc_pause_floor", t.GCPauseFloor, &base.GCPauseFloor)
	num("backlog_accel", t.BacklogAccel, &base.BacklogAccel)
	num("rss_growth_bytes_per_hour", t.RSSGrowthThreshold, &base.RSSGrowthThreshold)
	num("heap_growth_bytes_per_hour", t.HeapGrowthThreshold, &base.HeapGrowthThreshold)
	num("goroutine_growth_per_hour", t.GoroutineGrowthThreshold, &base.GoroutineGrowthThreshold)
	num("fd_growth_per_hour", t.FDGrowthThreshold, &base.FDGrowthThreshold)
	num("gc_pause_factor", t.GCPauseFactor, &base.GCPauseFactor)
	count("backlog_accel_samples", t.BacklogAccelSamples, &base.BacklogAccelSamples)
	count("growth_min_count", t.GrowthMinCount, &base.GrowthMinCount)
	count("gc_pause_baseline_samples", t.GCPauseBaselineSamples, &base.GCPauseBaselineSamples)
	if t.GrowthMinR2 < 0 || t.GrowthMinR2 > 1 {
		bad("thresholds.growth_min_r2", "must be between 0 and 1, got %v", t.GrowthMinR2)
	} else if t.GrowthMinR2 > 0 {
		base.GrowthMinR2 = t.GrowthMinR2
	}
	if t.GrowthConfidence < 0 || t.GrowthConfidence >= 1 {
		bad("thresholds.growth_confidence", "must be between 0 and 1 (exclusive), such as 0.99, got %v", t.GrowthConfidence)
	} else if t.GrowthConfidence > 0 {
		base.GrowthConfidence = t.GrowthConfidence
	}
	if t.BacklogMinQueue < 0 {
		bad("thresholds.backlog_min_queue", "must be a positive integer, got %d", t.BacklogMinQueue)
	} else if t.BacklogMinQueue > 0 {
		base.BacklogMinQueue = t.BacklogMinQueue
	}
	if t.GrowthMinBytes > 0 {
		base.GrowthMinBytes = t.GrowthMinBytes
	}
	return base
}

// webhook validates the webhook section and fills in its defaults.
func webhook(f WebhookFile) (Webhook, error) {
	w := Webhook{URL: f.URL, Format: f.Format, Timeout: f.Timeout, MaxRetries: f.MaxRetries, Backoff: f.Backoff,
		MaxBackoff: f.MaxBackoff, QueueSize: f.QueueSize, FlushTimeout: f.FlushTimeout, Resend: f.ResendInterval}
	key := "webhook.url"
	switch {
	case f.URL != "" && f.URLFile != "":
		return w, errors.New("webhook.url and webhook.url_file: set at most one")
	case f.URLFile != "":
		b, err := os.ReadFile(f.URLFile)
		if err != nil {
			return w, fmt.Errorf("webhook.url_file: %w", err)
		}
		key, w.URL = "webhook.url_file", strings.TrimSpace(string(b))
		if w.URL == "" {
			return w, fmt.Errorf("webhook.url_file: %s is empty: want the webhook's URL (or remove url_file)", f.URLFile)
		}
	}
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			if key == "webhook.url_file" { // the URL may hold a token: do not print it
				return w, fmt.Errorf("%s: %s does not hold an http:// or https:// URL", key, f.URLFile)
			}
			return w, fmt.Errorf("%s: must be an http:// or https:// URL, got %q", key, w.URL)
		}
	}
	switch w.Format {
	case "":
		w.Format = FormatJSON
	case FormatJSON, FormatAlertmanager:
	default:
		return w, fmt.Errorf("webhook.format: unknown format %q (allowed: %s, %s)", w.Format, FormatJSON, FormatAlertmanager)
	}
	switch {
	case f.Secret != "" && f.SecretFile != "":
		return w, errors.New("webhook.secret and webhook.secret_file: set at most one")
	case f.Secret != "":
		w.Secret = []byte(f.Secret)
	case f.SecretFile != "":
		b, err := os.ReadFile(f.SecretFile)
		if err != nil {
			return w, fmt.Errorf("webhook.secret_file: %w", err)
		}
		w.Secret = []byte(strings.TrimSpace(string(b)))
	}
	for _, d := range []struct {
		key string
		v   *time.Duration
		def time.Duration
	}{{"timeout", &w.Timeout, 5 * time.Second}, {"backoff", &w.Backoff, 500 * time.Millisecond},
		{"max_backoff", &w.MaxBackoff, 30 * time.Second}, {"flush_timeout", &w.FlushTimeout, 5 * time.Second},
		{"resend_interval", &w.Resend, time.Minute}} {
		if *d.v < 0 {
			return w, fmt.Errorf("webhook.%s: must be a positive duration such as 5s, got %v", d.key, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if w.MaxRetries < 0 || w.QueueSize < 0 {
		return w, fmt.Errorf("webhook.max_retries and webhook.queue_size: must not be negative, got %d and %d", w.MaxRetries, w.QueueSize)
	}
	if f.MaxRetries == 0 {
		w.MaxRetries = 5
	}
	if w.QueueSize == 0 {
		w.QueueSize = 1024
	}
	return w, nil
}
