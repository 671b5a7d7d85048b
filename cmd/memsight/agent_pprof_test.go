package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/detect"
)

// TestAgentPprof: --pprof serves the agent's own CPU and heap profiles on a
// listener of its own, and the public --listen address does not serve them.
func TestAgentPprof(t *testing.T) {
	a := startAgent(t, "--include-comm", "^msbench-nothing$", "--pprof", "127.0.0.1:0")
	m := regexp.MustCompile(`msg="memsight agent serving pprof" address=(\S+)`).FindStringSubmatch(a.stderrText())
	if m == nil {
		t.Fatalf("no pprof address in the agent's log:\n%s", a.stderrText())
	}
	if m[1] == a.addr {
		t.Fatalf("pprof is served on --listen %s", a.addr)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for _, c := range []struct{ path, sampleType string }{
		{"/debug/pprof/profile?seconds=1", "cpu"},
		{"/debug/pprof/heap", "inuse_space"},
	} {
		resp, err := client.Get("http://" + m[1] + c.path)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		var body bytes.Buffer
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d, %v: %.200s", c.path, resp.StatusCode, err, body.String())
		}
		p, err := profile.Parse(&body)
		if err != nil {
			t.Fatalf("%s does not decode as a profile: %v", c.path, err)
		}
		var types []string
		for _, st := range p.SampleType {
			types = append(types, st.Type)
		}
		if !slices.Contains(types, c.sampleType) {
			t.Errorf("%s: sample types %v, want %s", c.path, types, c.sampleType)
		}
	}
	if code, _ := a.get(t, "/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ on --listen: %d, want 404", code)
	}
}

// TestAgentPprofSetting: pprof is off by default, comes from the file's
// pprof key, and --pprof beats it.
func TestAgentPprofSetting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "memsight.yaml")
	if err := os.WriteFile(path, []byte("pprof: 127.0.0.1:7001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--config", path}, "127.0.0.1:7001"},
		{[]string{"--config", path, "--pprof", "127.0.0.1:7002"}, "127.0.0.1:7002"},
	} {
		o := &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}}
		cmd := agentCmd(&globalOptions{}, o)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		f, err := readConfig(o.conf.path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := loadSettings(f, cmd.Flags(), o)
		if err != nil || s.Pprof != c.want {
			t.Errorf("%v: pprof %q, %v; want %q", c.args, s.Pprof, err, c.want)
		}
	}
}
