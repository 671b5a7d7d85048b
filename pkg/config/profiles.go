package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// ProfilesFile is the profiles section: the pprof profiles the agent reads
// on request (its API, the Pyroscope push), the evidence it keeps when
// findings fire, and the Pyroscope push. Changes take effect at the next
// restart.
type ProfilesFile struct {
	// ReadBudgetBytes bounds what one profile reads from a target (default
	// 64 MiB); Concurrency how many are read at once (default 2; API
	// requests beyond get 429).
	ReadBudgetBytes int64 `yaml:"read_budget_bytes"`
	Concurrency     int   `yaml:"concurrency"`
	// Interval is the time between two pushes of a process's profiles to
	// Pyroscope (default 60s).
	Interval time.Duration `yaml:"interval"`
	// HeapRingInterval: how often each process's heap profile counts are
	// kept, so growth evidence shows what grew (default a quarter of
	// thresholds.growth_window; "-1s": off).
	HeapRingInterval time.Duration `yaml:"heap_ring_interval"`
	// EvidenceBytes and EvidencePerProcess bound the evidence kept (default
	// 8 MiB, 8 bundles per process; the oldest goes first).
	EvidenceBytes      int64         `yaml:"evidence_bytes"`
	EvidencePerProcess int           `yaml:"evidence_per_process"`
	Pyroscope          PyroscopeFile `yaml:"pyroscope"`
}

// PyroscopeFile is profiles.pyroscope; no url, no push.
type PyroscopeFile struct {
	URL string `yaml:"url"` // the server's base URL: http://pyroscope:4040
	// BasicAuthUser with the password in BasicAuthPasswordFile, or the
	// bearer token in BearerTokenFile (mounted Secrets), read at start.
	BasicAuthUser         string `yaml:"basic_auth_user"`
	BasicAuthPasswordFile string `yaml:"basic_auth_password_file"`
	BearerTokenFile       string `yaml:"bearer_token_file"`
	// TenantID is sent as X-Scope-OrgID (multi-tenant Pyroscope);
	// TenantIDFile names a file holding it. At most one of them.
	TenantID     string        `yaml:"tenant_id"`
	TenantIDFile string        `yaml:"tenant_id_file"`
	Timeout      time.Duration `yaml:"timeout"`     // per request (default 10s)
	MaxRetries   int           `yaml:"max_retries"` // after the first attempt (default 3)
	QueueSize    int           `yaml:"queue_size"`  // pushes waiting; the oldest is dropped beyond (default 256)
}

// ProfileSettings is the resolved profiles section. Zero values leave the
// agent's defaults.
type ProfileSettings struct {
	ReadBudget         int64
	Concurrency        int
	Interval           time.Duration
	HeapRing           time.Duration
	EvidenceBytes      int64
	EvidencePerProcess int
	Pyroscope          Pyroscope
}

// Pyroscope is the resolved push configuration; URL "" means no push.
type Pyroscope struct {
	URL                     string
	BasicAuthUser           string
	BasicAuthPassword       string
	BearerToken             string
	TenantID                string
	Timeout                 time.Duration
	MaxRetries, QueueSize   int
	PasswordFile, TokenFile string // where the secrets were read from
	TenantFile              string
}

// ResolvePyroscope validates a push configuration and reads its secret
// files; the command line's flags go through it too.
func ResolvePyroscope(f PyroscopeFile) (Pyroscope, error) {
	p := Pyroscope{URL: f.URL, BasicAuthUser: f.BasicAuthUser, TenantID: f.TenantID, Timeout: f.Timeout,
		MaxRetries: f.MaxRetries, QueueSize: f.QueueSize, PasswordFile: f.BasicAuthPasswordFile, TokenFile: f.BearerTokenFile,
		TenantFile: f.TenantIDFile}
	if p.URL != "" {
		u, err := url.Parse(p.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return p, fmt.Errorf("profiles.pyroscope.url: must be an http:// or https:// URL, got %q", p.URL)
		}
	}
	read := func(key, path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("profiles.pyroscope.%s: %w", key, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var err error
	if p.BasicAuthPassword, err = read("basic_auth_password_file", f.BasicAuthPasswordFile); err != nil {
		return p, err
	}
	if p.BearerToken, err = read("bearer_token_file", f.BearerTokenFile); err != nil {
		return p, err
	}
	if f.TenantIDFile != "" {
		if f.TenantID != "" {
			return p, errors.New("profiles.pyroscope.tenant_id: set tenant_id or tenant_id_file, not both")
		}
		if p.TenantID, err = read("tenant_id_file", f.TenantIDFile); err != nil {
			return p, err
		}
	}
	switch {
	case p.BearerToken != "" && (p.BasicAuthUser != "" || p.BasicAuthPassword != ""):
		return p, errors.New("profiles.pyroscope: set basic auth or a bearer token, not both")
	case p.BasicAuthPassword != "" && p.BasicAuthUser == "":
		return p, errors.New("profiles.pyroscope.basic_auth_password_file: needs basic_auth_user")
	case p.Timeout < 0 || p.MaxRetries < 0 || p.QueueSize < 0:
		return p, errors.New("profiles.pyroscope.timeout, max_retries and queue_size: must not be negative")
	}
	return p, nil
}

// profiles validates the profiles section; the error is the pyroscope
// subsection's (ResolvePyroscope).
func profiles(f ProfilesFile, bad func(key, format string, a ...any)) (ProfileSettings, error) {
	p := ProfileSettings{ReadBudget: f.ReadBudgetBytes, Concurrency: f.Concurrency, Interval: f.Interval, HeapRing: f.HeapRingInterval,
		EvidenceBytes: f.EvidenceBytes, EvidencePerProcess: f.EvidencePerProcess}
	if f.ReadBudgetBytes < 0 || f.EvidenceBytes < 0 {
		bad("profiles.read_budget_bytes and profiles.evidence_bytes", "must not be negative")
	}
	if f.Concurrency < 0 || f.EvidencePerProcess < 0 {
		bad("profiles.concurrency and profiles.evidence_per_process", "must not be negative")
	}
	if f.Interval < 0 || f.Interval > 0 && f.Interval < time.Second {
		bad("profiles.interval", "must be at least 1s, got %v", f.Interval)
	}
	py, err := ResolvePyroscope(f.Pyroscope)
	p.Pyroscope = py
	return p, err
}
