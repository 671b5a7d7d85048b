package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/detect"
)

const example = `
profile: staging
listen: 127.0.0.1:9464
interval: 2s
excludes:
  comm: ^(kubelet|containerd)$
  max_processes: 64
  min_process_age: 30s
thresholds:
  stall_threshold: 5s
  rss_growth_bytes_per_hour: 1048576
  growth_min_window: 1m
  growth_confidence: 0.999
webhook:
  url: https://hooks.example.com/memsight
  format: alertmanager
  secret: s3cret
  max_retries: 3
`

func TestParseAndResolve(t *testing.T) {
	f, err := Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(f, "")
	if err != nil {
		t.Fatal(err)
	}
	staging, _ := Profile(ProfileStaging)
	want := staging
	want.StallThreshold = 5 * time.Second
	want.RSSGrowthThreshold = 1 << 20
	want.GrowthMinWindow, want.GrowthConfidence = time.Minute, 0.999
	if s.Detect != want {
		t.Errorf("thresholds:\n got %+v\nwant %+v", s.Detect, want)
	}
	if s.Profile != ProfileStaging || s.Listen != "127.0.0.1:9464" || s.Interval != 2*time.Second ||
		s.MaxProcesses != 64 || s.MinProcessAge == nil || *s.MinProcessAge != 30*time.Second || !s.ExcludeComm.MatchString("kubelet") || s.IncludeComm != nil {
		t.Errorf("settings: %+v", s)
	}
	w := s.Webhook
	if w.URL != "https://hooks.example.com/memsight" || w.Format != FormatAlertmanager || string(w.Secret) != "s3cret" ||
		w.MaxRetries != 3 || w.QueueSize != 1024 || w.Timeout != 5*time.Second || w.Resend != time.Minute {
		t.Errorf("webhook: %+v", w)
	}
	// --profile overrides the file's profile; the file's thresholds stay on top.
	s, err = Resolve(f, ProfileProd)
	if err != nil {
		t.Fatal(err)
	}
	if s.Detect.BacklogWindow != detect.Defaults().BacklogWindow || s.Detect.StallThreshold != 5*time.Second {
		t.Errorf("prod profile with the file's stall_threshold: %+v", s.Detect)
	}
}

func TestProfiles(t *testing.T) {
	prod, _ := Profile(ProfileProd)
	if prod != detect.Defaults() {
		t.Errorf("prod is not detect.Defaults()")
	}
	dev, _ := Profile(ProfileDev)
	staging, _ := Profile(ProfileStaging)
	for _, c := range []struct {
		name               string
		dev, staging, prod time.Duration
	}{
		{"stall_threshold", dev.StallThreshold, staging.StallThreshold, prod.StallThreshold},
		{"backlog_window", dev.BacklogWindow, staging.BacklogWindow, prod.BacklogWindow},
		{"growth_window", dev.GrowthWindow, staging.GrowthWindow, prod.GrowthWindow},
		{"growth_min_window", dev.GrowthMinWindow, staging.GrowthMinWindow, prod.GrowthMinWindow},
	} {
		if !(c.dev < c.staging && c.staging < c.prod) {
			t.Errorf("%s: dev %v, staging %v, prod %v: want dev < staging < prod", c.name, c.dev, c.staging, c.prod)
		}
	}
	if _, ok := Profile("qa"); ok {
		t.Error("unknown profile accepted")
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"thresholds:\n  stall_treshold: 1s\n", `line 2: unknown key "stall_treshold" in thresholds (allowed: stall_threshold,`},
		{"listn: :9464\n", `line 1: unknown key "listn" (allowed: profile, listen,`},
		{"webhook:\n  urll: x\n", `unknown key "urll" in webhook`},
		{"interval: soon\n", "line 1: cannot unmarshal"},
		{"profile: qa\n", `profile: unknown profile "qa" (allowed: dev, staging, prod)`},
		{"thresholds:\n  stall_threshold: -1s\n", "thresholds.stall_threshold: must be a positive duration such as 2s, got -1s"},
		{"thresholds:\n  growth_min_r2: 2\n", "thresholds.growth_min_r2: must be between 0 and 1, got 2"},
		{"thresholds:\n  growth_confidence: 1\n", "thresholds.growth_confidence: must be between 0 and 1 (exclusive), such as 0.99, got 1"},
		{"thresholds:\n  growth_min_window: -5s\n", "thresholds.growth_min_window: must be a positive duration"},
		{"excludes:\n  comm: '('\n", "excludes.comm: must be a Go regular expression"},
		{"interval: 1ms\n", "interval: must be at least 10ms, got 1ms"},
		{"webhook:\n  url: ftp://x\n", `webhook.url: must be an http:// or https:// URL, got "ftp://x"`},
		{"webhook:\n  url: http://x\n  format: slack\n", `webhook.format: unknown format "slack" (allowed: json, alertmanager)`},
		{"listen: :1\n---\nlisten: :2\n", "more than one YAML document"},
	} {
		f, err := Parse([]byte(c.doc))
		if err == nil {
			_, err = Resolve(f, "")
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.doc, err, c.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", c.doc, err)
		}
	}
}

func TestEmpty(t *testing.T) {
	f, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(f, "")
	if err != nil || s.Profile != ProfileProd || s.Detect != detect.Defaults() || s.Webhook.URL != "" {
		t.Fatalf("empty file: %+v, %v", s, err)
	}
}

// TestWebhookFromFiles: the URL and the HMAC secret read from files (a
// mounted Kubernetes Secret, as the chart does), trimmed; at most one of
// each pair; a bad URL in a file is reported without printing it (it may
// carry a token).
func TestWebhookFromFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	url := write("url", "https://hooks.example.com/T0K3N\n")
	secret := write("secret", "s3cret\n")
	resolve := func(doc string) (Settings, error) {
		f, err := Parse([]byte(doc))
		if err != nil {
			return Settings{}, err
		}
		return Resolve(f, "")
	}
	s, err := resolve("webhook:\n  url_file: " + url + "\n  secret_file: " + secret + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if s.Webhook.URL != "https://hooks.example.com/T0K3N" || string(s.Webhook.Secret) != "s3cret" {
		t.Errorf("webhook from files: url %q secret %q", s.Webhook.URL, s.Webhook.Secret)
	}
	bad := write("bad", "ftp://T0K3N@x\n")
	for doc, want := range map[string]string{
		"webhook:\n  url: https://x\n  url_file: " + url + "\n":      "webhook.url and webhook.url_file: set at most one",
		"webhook:\n  url_file: " + write("empty", "\n") + "\n":       "is empty",
		"webhook:\n  url_file: " + filepath.Join(dir, "none") + "\n": "webhook.url_file: open",
		"webhook:\n  url_file: " + bad + "\n":                        "webhook.url_file: " + bad + " does not hold an http:// or https:// URL",
		"webhook:\n  secret: a\n  secret_file: " + secret + "\n":     "webhook.secret and webhook.secret_file: set at most one",
	} {
		_, err := resolve(doc)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", doc, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "T0K3N") {
			t.Errorf("%q: error %q prints the file's URL", doc, err)
		}
	}
}
