package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/detect"
)

// TestAgentFlagsOverrideConfig: a flag given on the command line beats the
// file, which beats the profile, which beats the flag's default.
func TestAgentFlagsOverrideConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memsight.yaml")
	doc := "profile: dev\nlisten: :7000\ninterval: 3s\nexcludes:\n  comm: ^a$\n  max_processes: 9\nthresholds:\n  stall_threshold: 4s\n  backlog_window: 40s\nwebhook:\n  url: http://127.0.0.1:1/\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
	cmd := agentCmd(&globalOptions{}, o)
	if err := cmd.ParseFlags([]string{"--config", path, "--stall-threshold", "9s", "--listen", ":8000", "--exclude-comm", "^b$", "--webhook-format", "alertmanager"}); err != nil {
		t.Fatal(err)
	}
	f, err := readConfig(o.conf.path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings(f, cmd.Flags(), o)
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := config.Profile(config.ProfileDev)
	if s.Profile != config.ProfileDev || s.Detect.StallThreshold != 9*time.Second || s.Detect.BacklogWindow != 40*time.Second ||
		s.Detect.GrowthWindow != dev.GrowthWindow {
		t.Errorf("thresholds: profile %s, %+v", s.Profile, s.Detect)
	}
	if s.Listen != ":8000" || s.Interval != 3*time.Second || s.MaxProcesses != 9 || !s.ExcludeComm.MatchString("b") || s.ExcludeComm.MatchString("a") {
		t.Errorf("settings: %+v", s)
	}
	if s.Webhook.URL != "http://127.0.0.1:1/" || s.Webhook.Format != config.FormatAlertmanager {
		t.Errorf("webhook: %+v", s.Webhook)
	}
	// --profile beats the file's profile.
	if err := cmd.ParseFlags([]string{"--profile", "prod"}); err != nil {
		t.Fatal(err)
	}
	if s, err = loadSettings(f, cmd.Flags(), o); err != nil || s.Profile != config.ProfileProd {
		t.Errorf("--profile prod: %s, %v", s.Profile, err)
	}
}
