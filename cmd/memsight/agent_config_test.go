package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/export/webhook"
	"github.com/memsight/memsight/pkg/testutil"
)

// hookReceiver records the webhook events POSTed to it, checking their
// signatures.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []webhook.Event
	bad    []string
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ev webhook.Event
		err := json.Unmarshal(b, &ev)
		r.mu.Lock()
		defer r.mu.Unlock()
		if sig := req.Header.Get(webhook.SignatureHeader); sig != webhook.Sign([]byte(secret), b) || err != nil {
			r.bad = append(r.bad, fmt.Sprintf("signature %q, error %v: %s", sig, err, b))
		}
		r.events = append(r.events, ev)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// stalls returns the statuses of the finalizer_stall events of pid.
func (r *hookReceiver) stalls(pid int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, ev := range r.events {
		if ev.PID == pid && ev.Kind == "finalizer_stall" {
			s = append(s, ev.Status)
		}
	}
	return s
}

// configMapDir writes config documents the way the kubelet updates a
// ConfigMap volume: a new directory, then the ..data symlink swapped.
type configMapDir struct {
	t   *testing.T
	dir string
	n   int
}

func (c *configMapDir) path() string { return filepath.Join(c.dir, "memsight.yaml") }

func (c *configMapDir) write(doc string) {
	c.t.Helper()
	c.n++
	ver := fmt.Sprintf("..2026_11_26_%02d", c.n)
	must := func(err error) {
		if err != nil {
			c.t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(c.dir, ver), 0o755))
	must(os.WriteFile(filepath.Join(c.dir, ver, "memsight.yaml"), []byte(doc), 0o644))
	must(os.Symlink(ver, filepath.Join(c.dir, "..data_tmp")))
	must(os.Rename(filepath.Join(c.dir, "..data_tmp"), filepath.Join(c.dir, "..data")))
	if c.n == 1 {
		must(os.Symlink("..data/memsight.yaml", c.path()))
	}
}

// TestAgentWebhookReload runs the agent from a ConfigMap-style config file
// with a webhook to a local receiver, and a target whose finalizer blocks
// after 1s. Reloads (a ..data swap, SIGHUP) move the stall threshold
// across the stall: the finding fires and resolves with them, exactly once
// each, an invalid file is rejected and counted, and the process's
// counters and watch survive every reload. Killing the target resolves
// the last firing.
func TestAgentWebhookReload(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	const secret = "s3cret"
	rcv := newHookReceiver(t, secret)
	cm := &configMapDir{t: t, dir: t.TempDir()}
	doc := func(stall string) string {
		return fmt.Sprintf("interval: 500ms\nexcludes:\n  include_comm: ^hook-\nthresholds:\n  stall_threshold: %s\nwebhook:\n  url: %s\n  secret: %s\n  backoff: 50ms\n",
			stall, rcv.srv.URL, secret)
	}
	cm.write(doc("1m"))
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "hook-finq")
	a := startAgent(t, "--config", cm.path())
	tg := testutil.StartTarget(t, finq, "-block-after", "1s")
	pid := strconv.Itoa(tg.Pid)
	metric := func(name string, labels ...string) float64 {
		v, _ := value(a.scrape(t), name, labels...)
		return v
	}
	watches := func() int {
		return strings.Count(a.stderrText(), `msg="watching process" component=agent pid=`+pid+" ")
	}
	a.waitFor(t, 10*time.Second, "the target sampled", func() bool {
		code, _ := a.get(t, "/api/v1/processes/"+pid)
		return code == http.StatusOK
	})
	wantStalls := func(what string, want ...string) {
		t.Helper()
		took := a.waitFor(t, 10*time.Second, what, func() bool { return len(rcv.stalls(tg.Pid)) >= len(want) })
		time.Sleep(time.Second) // two more samples: no repeat
		if got := rcv.stalls(tg.Pid); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("after %s: finalizer_stall events %v, want %v", what, got, want)
		}
		t.Logf("%s: webhook after %v", what, took.Round(time.Millisecond))
	}

	time.Sleep(3500 * time.Millisecond) // blocked for about 2.5s: under 1m
	if got := rcv.stalls(tg.Pid); len(got) != 0 {
		t.Fatalf("events under a 1m threshold: %v", got)
	}
	queued := metric("memsight_finalizers_queued_total", "pid", pid)
	ok0 := metric("memsight_agent_config_last_reload_success_timestamp_seconds")

	cm.write(doc("2s")) // a ..data swap, noticed by the 2s poll
	wantStalls("the ..data swap to stall_threshold 2s", "firing")
	if ok1 := metric("memsight_agent_config_last_reload_success_timestamp_seconds"); ok1 <= ok0 {
		t.Errorf("last reload success %v, not after %v", ok1, ok0)
	}

	cm.write("thresholds:\n  stall_threshold: soon\n")
	a.waitFor(t, 10*time.Second, "the invalid file rejected", func() bool {
		return metric("memsight_agent_config_reload_failures_total") == 1
	})
	if !strings.Contains(a.stderrText(), "configuration reload rejected") {
		t.Error("no log line for the rejected file")
	}
	time.Sleep(time.Second)
	if got := rcv.stalls(tg.Pid); len(got) != 1 || metric("memsight_finding_active", "pid", pid, "kind", "finalizer_stall") != 1 {
		t.Fatalf("after the invalid file: events %v; the running thresholds must stay", got)
	}

	cm.write(doc("1m"))
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wantStalls("SIGHUP with stall_threshold 1m", "firing", "resolved")
	if !strings.Contains(a.stderrText(), "trigger=SIGHUP") {
		t.Error("the reload was not SIGHUP's")
	}
	if q := metric("memsight_finalizers_queued_total", "pid", pid); q < queued {
		t.Errorf("memsight_finalizers_queued_total went from %v to %v across reloads", queued, q)
	}
	if n := watches(); n != 1 {
		t.Errorf("the process was watched %d times: a reload restarted its watch", n)
	}

	cm.write(doc("2s"))
	if err := a.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wantStalls("SIGHUP back to 2s", "firing", "resolved", "firing")
	if err := tg.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wantStalls("the target killed", "firing", "resolved", "firing", "resolved")
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bad) > 0 {
		t.Errorf("bad deliveries: %v", rcv.bad)
	}
}
