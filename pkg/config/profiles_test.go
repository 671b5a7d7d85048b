package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProfilesSection: the profiles section resolves, reads the push's
// secret files, and rejects bad values in one line naming the key.
func TestProfilesSection(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(`
profiles:
  read_budget_bytes: 1048576
  concurrency: 3
  interval: 30s
  heap_ring_interval: -1s
  evidence_bytes: 4096
  evidence_per_process: 2
  pyroscope:
    url: http://pyroscope:4040
    basic_auth_user: memsight
    basic_auth_password_file: ` + pw + `
    tenant_id: team-a
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(f, "")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Profiles
	if p.ReadBudget != 1<<20 || p.Concurrency != 3 || p.Interval != 30*time.Second || p.HeapRing != -time.Second ||
		p.EvidenceBytes != 4096 || p.EvidencePerProcess != 2 {
		t.Errorf("profiles %+v", p)
	}
	if y := p.Pyroscope; y.URL != "http://pyroscope:4040" || y.BasicAuthUser != "memsight" || y.BasicAuthPassword != "hunter2" || y.TenantID != "team-a" {
		t.Errorf("pyroscope %+v", y)
	}
	for doc, want := range map[string]string{
		"profiles:\n  interval: 100ms\n":                                 "profiles.interval: must be at least 1s",
		"profiles:\n  pyroscope:\n    url: pyroscope:4040\n":             "profiles.pyroscope.url: must be an http:// or https:// URL",
		"profiles:\n  pyroscope:\n    bearer_token_file: /nonexistent\n": "profiles.pyroscope.bearer_token_file",
		"profiles:\n  pyroscope:\n    nope: 1\n":                         `unknown key "nope" in profiles.pyroscope`,
	} {
		f, err := Parse([]byte(doc))
		if err == nil {
			_, err = Resolve(f, "")
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v; want one line with %q", doc, err, want)
		}
	}
}
