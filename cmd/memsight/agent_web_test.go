package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestAgentWebPage: the agent's page at /, rendered in headless Chromium,
// shows a target whose finalizer is stuck: its row, its charts and the
// finalizer_stall finding with the stuck function in the stack.
func TestAgentWebPage(t *testing.T) {
	testutil.RequireBPF(t)
	testutil.RequireBrowser(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "web-finq")
	a := startAgent(t, "--include-comm", "^web-", "--interval", "500ms")
	tg := testutil.StartTarget(t, finq, "-block-after", "1s")

	a.waitFor(t, 20*time.Second, "finalizer_stall in /api/v1/findings", func() bool {
		_, body := a.get(t, "/api/v1/findings")
		return strings.Contains(string(body), fmt.Sprintf(`"pid":%d,`, tg.Pid)) && strings.Contains(string(body), `"kind":"finalizer_stall"`)
	})
	// The history is read every 10 s: wait for the target's first point.
	a.waitFor(t, 15*time.Second, "a point in /api/v1/history", func() bool {
		code, body := a.get(t, fmt.Sprintf("/api/v1/history?pid=%d", tg.Pid))
		var h struct {
			Processes []struct{ T []int64 } `json:"processes"`
		}
		return code == http.StatusOK && json.Unmarshal(body, &h) == nil && len(h.Processes) == 1 && len(h.Processes[0].T) > 0
	})

	dom := testutil.DumpDOM(t, "http://"+a.addr+"/", 3*time.Second)
	pid := fmt.Sprint(tg.Pid)
	checks := map[string]*regexp.Regexp{
		"the target's row":              regexp.MustCompile(`<tr class="process[^"]*" data-pid="` + pid + `" data-state="watching"`),
		"its comm":                      regexp.MustCompile(`<td data-field="comm"[^>]*>web-finq</td>`),
		"its finding in the table":      regexp.MustCompile(`data-pid="` + pid + `"(?s:.*?)<span class="kind" data-kind="finalizer_stall">`),
		"an RSS chart with a point":     regexp.MustCompile(`<svg [^>]*data-series="rss_bytes" data-pid="` + pid + `"[^>]*data-points="[1-9]`),
		"the finding":                   regexp.MustCompile(`<div class="finding" data-pid="` + pid + `" data-kind="finalizer_stall"`),
		"its summary":                   regexp.MustCompile(`<p class="summary">finalizer main.slowFinalizer has been blocked`),
		"the stuck function's frame":    regexp.MustCompile(`<li class="frame">main.slowFinalizer [^<]*main.go:\d+</li>`),
		"the finalizer goroutine frame": regexp.MustCompile(`<li class="frame">runtime.runFinalizers [^<]*</li>`),
		"the link to its evidence":      regexp.MustCompile(`<a href="/api/v1/evidence/` + pid + `-finalizer_stall-\d+" data-role="evidence">`),
		"the links to its profiles":     regexp.MustCompile(`<a href="/api/v1/processes/` + pid + `/pprof/heap">heap</a>`),
	}
	for what, re := range checks {
		if !re.MatchString(dom) {
			t.Errorf("the page shows no %s (%s)", what, re)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}
