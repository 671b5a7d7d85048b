package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/export/api"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// hostile is a comm, pod name and stack frame from an untrusted binary:
// rendered as HTML it would run a script.
const hostile = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">`

// browserFixture is a node with a stuck finalizer (pid 100), a process with
// a hostile name and finding (pid 200) and an unsupported one (pid 300),
// recorded over the last five minutes.
func browserFixture(t *testing.T) (*fakeSource, *Recorder) {
	src := &fakeSource{}
	r := newTestRecorder(t, src, 0, 0)
	now := time.Now()
	var snap model.Snapshot
	for i := range 6 {
		at := now.Add(time.Duration(i-5) * time.Minute)
		svc := watching(100, "svc", sample(100, at, uint64(30+10*i), int64(100*i)))
		svc.Pod, svc.Namespace, svc.Container = "svc-7f9c", "shop", "app"
		evil := watching(200, hostile, sample(200, at, 12, 0))
		evil.Pod = hostile
		old := model.Process{PID: 300, Comm: "old", GoVersion: "go1.19", State: model.StateUnsupported, Reason: "go1.19 is too old"}
		snap = snapshot(at, svc, evil, old)
		r.record(snap)
	}
	stuck := snap.Processes[0].Sample
	stuck.Findings = []model.Finding{{
		Kind: "finalizer_stall", Severity: "warning", Since: now.Add(-2 * time.Minute),
		Summary: "finalizer main.(*Conn).Close has been blocked for 2m0s in net.(*netFD).Read; queue 500",
		Evidence: map[string]any{
			"function": "main.(*Conn).Close", "state": "blocked", "wait_reason": "IO wait", "queue_length": 500,
			"stack": []string{
				"runtime.gopark /usr/local/go/src/runtime/proc.go:462",
				"net.(*netFD).Read /usr/local/go/src/net/fd_posix.go:68",
				"main.(*Conn).Close /src/main.go:34",
				"runtime.runFinalizers /usr/local/go/src/runtime/mfinal.go:272",
			},
		},
	}}
	snap.Processes[1].Sample.Findings = []model.Finding{{
		Kind: "cleanup_stall", Severity: "critical", Since: now, Summary: "cleanup " + hostile,
		Evidence: map[string]any{"stack": []string{hostile + " /x.go:1"}},
	}}
	src.set(snap)
	return src, r
}

// serveAgent serves the API and the page as the agent does.
func serveAgent(t *testing.T, src Source, r *Recorder) *httptest.Server {
	t.Helper()
	apiHandler, err := api.New(api.Config{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	webHandler, err := New(Config{Recorder: r})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", apiHandler)
	for _, p := range Routes() {
		mux.Handle(p, webHandler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// element returns the first element with the tag whose start tag matches
// attrs (a regular expression), up to its matching end tag.
func element(dom, tag, attrs string) string {
	loc := regexp.MustCompile(`<` + tag + `\b[^>]*` + attrs + `[^>]*>`).FindStringIndex(dom)
	if loc == nil {
		return ""
	}
	tags := regexp.MustCompile(`</?` + tag + `\b`)
	depth := 1
	for _, m := range tags.FindAllStringIndex(dom[loc[1]:], -1) {
		if dom[loc[1]+m[0]+1] == '/' {
			depth--
		} else {
			depth++
		}
		if depth == 0 {
			return dom[loc[0] : loc[1]+m[1]+1]
		}
	}
	return dom[loc[0]:]
}

// TestPageInBrowser renders the page in headless Chromium and checks what
// it shows: the process rows with their values, the charts with their
// points, the finding with its stack, and hostile names as text.
func TestPageInBrowser(t *testing.T) {
	src, r := browserFixture(t)
	srv := serveAgent(t, src, r)
	dom := testutil.DumpDOM(t, srv.URL+"/", 3*time.Second)
	if !regexp.MustCompile(`<body[^>]*data-refreshes="[1-9]`).MatchString(dom) {
		t.Fatalf("the page did not load its data:\n%s", dom)
	}
	for _, pid := range []int{100, 200, 300} {
		if element(dom, "tr", fmt.Sprintf(`data-pid="%d"`, pid)) == "" {
			t.Errorf("no row for pid %d", pid)
		}
	}
	row := element(dom, "tr", `data-pid="100"`)
	for _, want := range []string{
		`data-field="comm"`, `>svc<`, `>go1.26.8<`, `>shop/svc-7f9c (app)<`, `>watching<`,
		`data-field="rss" class="num">80.0 MiB<`, `data-field="heap" class="num">40.0 MiB<`,
		`data-field="goroutines" class="num">510<`, `data-field="finalizer_queue" class="num">500<`,
		`data-kind="finalizer_stall"`,
	} {
		if !strings.Contains(row, want) {
			t.Errorf("row of pid 100 has no %s:\n%s", want, row)
		}
	}
	for _, series := range []string{"rss_bytes", "heap_inuse_bytes", "finalizer_queue"} {
		svg := element(dom, "svg", `data-series="`+series+`" data-pid="100"[^>]*data-points="6"`)
		if !regexp.MustCompile(`<polyline class="line" points="(\d+\.\d,\d+\.\d ){5}\d+\.\d,\d+\.\d"`).MatchString(svg) {
			t.Errorf("sparkline %s of pid 100: no 6-point line:\n%s", series, svg)
		}
	}
	if detail := element(dom, "div", `id="detail-charts" class="charts" data-pid="100"`); strings.Count(detail, "<polyline") != 4 {
		t.Errorf("detail of pid 100 (a finding: selected by default): want 4 charts:\n%s", detail)
	}
	if !strings.Contains(dom, `>unsupported<`) || !strings.Contains(dom, `title="go1.19 is too old"`) {
		t.Errorf("pid 300: no unsupported state with its reason")
	}

	f := element(dom, "div", `class="finding" data-pid="100" data-kind="finalizer_stall"`)
	stack := element(f, "ol", `data-role="stack"`)
	for _, frame := range []string{
		`<li class="frame">runtime.gopark /usr/local/go/src/runtime/proc.go:462</li>`,
		`<li class="frame">main.(*Conn).Close /src/main.go:34</li>`,
		`<li class="frame">runtime.runFinalizers /usr/local/go/src/runtime/mfinal.go:272</li>`,
	} {
		if !strings.Contains(stack, frame) {
			t.Errorf("finding of pid 100: no %s in\n%s", frame, f)
		}
	}
	if !strings.Contains(f, "has been blocked for 2m0s in net.(*netFD).Read") || !strings.Contains(f, `data-key="wait_reason">IO wait<`) {
		t.Errorf("finding of pid 100: no summary or evidence:\n%s", f)
	}

	// Hostile strings are text: escaped in the DOM, nothing ran.
	escaped := `&lt;script&gt;document.title="pwned"&lt;/script&gt;&lt;img src=x onerror="document.title='pwned'"&gt;`
	if n := strings.Count(dom, escaped); n < 4 { // comm, pod, summary, frame
		t.Errorf("hostile name shown as text %d times, want ≥ 4 (comm, pod, summary, stack frame)", n)
	}
	if strings.Contains(dom, "<title>pwned") || strings.Contains(dom, `<script>document`) || strings.Contains(dom, `<img src="x"`) {
		t.Errorf("hostile name was parsed as HTML:\n%s", dom)
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}
