package main

import (
	"os"
	"path/filepath"
	"strings"
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
	doc := "profile: dev\nlisten: :7000\nweb_config_file: /file/web.yml\nhealth_listen: :7001\ninterval: 3s\nexcludes:\n  comm: ^a$\n  max_processes: 9\nthresholds:\n  stall_threshold: 4s\n  backlog_window: 40s\nwebhook:\n  url: http://127.0.0.1:1/\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
	cmd := agentCmd(&globalOptions{}, o)
	if err := cmd.ParseFlags([]string{"--config", path, "--stall-threshold", "9s", "--listen", ":8000", "--exclude-comm", "^b$", "--webhook-format", "alertmanager",
		"--web.config.file", "/flag/web.yml"}); err != nil {
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
	if s.WebConfigFile != "/flag/web.yml" || s.HealthListen != ":7001" {
		t.Errorf("web: config file %q (want the flag's), health listen %q (want the file's)", s.WebConfigFile, s.HealthListen)
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

// TestAgentFlagsFilters: the cgroup, namespace and pod-selector flags beat
// the file's excludes; an invalid one is a usage error (exit code 2) of one
// line, and so is an invalid file (rejected at a reload).
func TestAgentFlagsFilters(t *testing.T) {
	f, err := config.Parse([]byte("excludes:\n  cgroup: file\n  include_cgroup: kubepods\n  namespaces: [a]\n  include_namespaces: [b]\n  pod_selector: app=file\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
	cmd := agentCmd(&globalOptions{}, o)
	if err := cmd.ParseFlags([]string{"--exclude-cgroup", `system\.slice/`, "--exclude-namespace", "kube-system", "--exclude-namespace", "monitoring,istio-system", "--pod-selector", "app=web"}); err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings(f, cmd.Flags(), o)
	if err != nil {
		t.Fatal(err)
	}
	fl := filters(s)
	if !fl.ExcludeCgroup.MatchString("/system.slice/x") || fl.ExcludeCgroup.MatchString("file") || !fl.IncludeCgroup.MatchString("/kubepods") ||
		strings.Join(fl.ExcludeNamespaces, ",") != "kube-system,monitoring,istio-system" || strings.Join(fl.IncludeNamespaces, ",") != "b" ||
		fl.PodSelector.String() != "app=web" {
		t.Errorf("filters %+v", fl)
	}
	if tn := tunables(s); tn.PodSelector.String() != "app=web" || tn.ExcludeCgroup != fl.ExcludeCgroup {
		t.Errorf("tunables %+v", tn)
	}
	// An empty flag removes the file's rule (an empty comm regexp would
	// otherwise match, and exclude, every process).
	fc, err := config.Parse([]byte("excludes:\n  comm: ^x$\n  include_comm: ^y$\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags([]string{"--include-cgroup", "", "--pod-selector", "", "--exclude-comm", "", "--include-comm", ""}); err != nil {
		t.Fatal(err)
	}
	if s, err = loadSettings(fc, cmd.Flags(), o); err != nil || s.ExcludeComm != nil || s.IncludeComm != nil {
		t.Errorf("empty comm flags: %+v, %v", s, err)
	}
	if s, err = loadSettings(f, cmd.Flags(), o); err != nil || s.IncludeCgroup != nil || s.PodSelector != nil {
		t.Errorf("empty flags: %+v, %v", s, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--exclude-cgroup", "("}, "--exclude-cgroup: error parsing regexp"},
		{[]string{"--include-cgroup", "[a"}, "--include-cgroup: error parsing regexp"},
		{[]string{"--exclude-namespace", "Kube_System"}, `--exclude-namespace: "Kube_System" is not a namespace name`},
		{[]string{"--include-namespace", "a b"}, `--include-namespace: "a b" is not a namespace name`},
		{[]string{"--pod-selector", "app=(web"}, "--pod-selector: must be a Kubernetes label selector such as app=web,tier!=batch"},
	} {
		o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
		cmd := agentCmd(&globalOptions{}, o)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		_, err := loadSettings(nil, cmd.Flags(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || exitCode(err) != 2 {
			t.Errorf("%q: %v (exit code %d), want a one-line usage error containing %q", c.args, err, exitCode(err), c.want)
		}
	}
	bad, err := config.Parse([]byte("excludes:\n  pod_selector: 'app in web'\n"))
	if err != nil {
		t.Fatal(err)
	}
	// A reload of it is rejected before anything is applied (the agent and
	// the sink are not touched: nil here).
	apply := reloader(agentCmd(&globalOptions{}, o).Flags(), o, config.Settings{}, nil, nil, func(string, ...any) {})
	if err := apply(bad); err == nil || !strings.Contains(err.Error(), "excludes.pod_selector: ") {
		t.Errorf("reloading an invalid pod_selector: %v", err)
	}
}

// TestAgentMinProcessAgeDefault: without the key in the file (or without a
// file) the flag's default applies; the file's value, even 0s, beats it;
// the flag beats the file.
func TestAgentMinProcessAgeDefault(t *testing.T) {
	for _, c := range []struct {
		doc  string
		args []string
		want time.Duration
	}{
		{"", nil, agent.DefaultMinProcessAge},
		{"excludes:\n  max_processes: 9\n", nil, agent.DefaultMinProcessAge},
		{"excludes:\n  min_process_age: 0s\n", nil, 0},
		{"excludes:\n  min_process_age: 2s\n", nil, 2 * time.Second},
		{"excludes:\n  min_process_age: 2s\n", []string{"--min-process-age", "3s"}, 3 * time.Second},
	} {
		var f *config.File
		if c.doc != "" {
			var err error
			if f, err = config.Parse([]byte(c.doc)); err != nil {
				t.Fatal(err)
			}
		}
		o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
		cmd := agentCmd(&globalOptions{}, o)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		s, err := loadSettings(f, cmd.Flags(), o)
		if err != nil {
			t.Fatal(err)
		}
		if got := minProcessAge(s); got != c.want || tunables(s).MinProcessAge != c.want {
			t.Errorf("file %q, flags %q: min process age %v, want %v", c.doc, c.args, got, c.want)
		}
	}
}
