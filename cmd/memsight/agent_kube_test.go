package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/detect"
)

// TestAgentKubeSettings: a --kubernetes flag given beats the file's
// kubernetes section, which beats the flags' defaults.
func TestAgentKubeSettings(t *testing.T) {
	o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
	cmd := agentCmd(&globalOptions{}, o)
	if err := cmd.ParseFlags([]string{"--kube-events=false", "--node-name", "flag-node"}); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse([]byte("kubernetes:\n  mode: off\n  node_name: file-node\n  kubeconfig: /k\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings(f, cmd.Flags(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := kubeSettings(s.Kubernetes, cmd.Flags(), o.kube)
	if want := (kubeFlags{mode: "off", kubeconfig: "/k", node: "flag-node", events: false}); got != want {
		t.Errorf("settings %+v, want %+v", got, want)
	}
	s, _ = loadSettings(nil, cmd.Flags(), o)
	if got := kubeSettings(s.Kubernetes, agentCmd(&globalOptions{}, o).Flags(), o.kube); got != (kubeFlags{mode: "auto", events: true}) {
		t.Errorf("defaults %+v", got)
	}
}

// TestAgentKubeModes: off, and auto outside a pod, do not touch
// Kubernetes; a configuration that cannot work is a usage error saying
// what to set.
func TestAgentKubeModes(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("NODE_NAME", "")
	log := slog.New(slog.DiscardHandler)
	for _, k := range []kubeFlags{{mode: "off", kubeconfig: "/nonexistent"}, {mode: "auto"}} {
		r, err := startKube(context.Background(), k, log)
		if r != nil || err != nil || r.agentPods() != nil {
			t.Errorf("%+v: %v, %v", k, r, err)
		}
		r.stop() // a nil kubeRun is a no-op
	}
	for _, c := range []struct {
		k    kubeFlags
		want string
	}{
		{kubeFlags{mode: "sometimes"}, `--kubernetes: unknown mode "sometimes"`},
		{kubeFlags{mode: "on"}, "set NODE_NAME"},
		{kubeFlags{mode: "on", node: "n1"}, "pass --kubeconfig or --kubernetes=off"},
		{kubeFlags{mode: "auto", node: "n1", kubeconfig: "/nonexistent/kubeconfig"}, "--kubeconfig /nonexistent/kubeconfig"},
	} {
		_, err := startKube(context.Background(), c.k, log)
		var u usageError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &u) {
			t.Errorf("%+v: %v, want a usage error containing %q", c.k, err, c.want)
		}
	}
}
