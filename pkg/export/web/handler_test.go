package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func serveWeb(t *testing.T, r *Recorder) *httptest.Server {
	t.Helper()
	h, err := New(Config{Recorder: r})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestPageFiles: the page and its files are served with a CSP, and the page
// references nothing outside the agent.
func TestPageFiles(t *testing.T) {
	srv := serveWeb(t, newTestRecorder(t, &fakeSource{}, 0, 0))
	for path, ctype := range map[string]string{
		"/":             "text/html",
		"/ui/app.js":    "text/javascript",
		"/ui/style.css": "text/css",
	} {
		resp, body := get(t, "GET", srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no X-Content-Type-Options: nosniff", path)
		}
		body = strings.ReplaceAll(body, `"http://www.w3.org/2000/svg"`, "") // the SVG namespace, not a resource
		for _, bad := range []string{"http://", "https://", "//cdn", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", path, bad)
			}
		}
	}
	for path, code := range map[string]int{"/ui/": 404, "/ui/nope.js": 404, "/index.html": 404} {
		if resp, _ := get(t, "GET", srv.URL+path); resp.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		for _, path := range []string{"/", "/api/v1/history", "/ui/app.js"} {
			if resp, _ := get(t, m, srv.URL+path); resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, resp.StatusCode)
			}
		}
	}
}

// TestHistoryEndpoint: /api/v1/history with and without pid= and since=,
// and its errors.
func TestHistoryEndpoint(t *testing.T) {
	r := newTestRecorder(t, &fakeSource{}, 0, 0)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	t1 := t0.Add(10 * time.Second)
	r.record(snapshot(t0, watching(1, "a", sample(1, t0, 1, 0)), watching(2, "b", sample(2, t0, 2, 0))))
	r.record(snapshot(t1, watching(1, "a", sample(1, t1, 1, 0)), watching(2, "b", sample(2, t1, 2, 0))))
	srv := serveWeb(t, r)

	decode := func(path string) History {
		t.Helper()
		resp, body := get(t, "GET", srv.URL+path)
		var h History
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &h) != nil {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		return h
	}
	if h := decode("/api/v1/history"); len(h.Processes) != 2 || h.Processes[0].PID != 1 || len(h.Processes[1].T) != 2 || h.IntervalSeconds != 10 || h.WindowSeconds != 3600 {
		t.Errorf("all: %+v", h)
	}
	if h := decode("/api/v1/history?pid=2"); len(h.Processes) != 1 || h.Processes[0].PID != 2 {
		t.Errorf("pid=2: %+v", h)
	}
	if h := decode("/api/v1/history?since=" + itoa(t0.UnixMilli())); len(h.Processes) != 2 || len(h.Processes[0].T) != 1 || h.Processes[0].T[0] != t1.UnixMilli() {
		t.Errorf("since t0: %+v", h)
	}
	if h := decode("/api/v1/history?pid=3"); h.Processes == nil || len(h.Processes) != 0 {
		t.Errorf("pid=3: %+v", h)
	}
	for path, want := range map[string]string{
		"/api/v1/history?pid=x":      "pid must be a positive integer",
		"/api/v1/history?pid=-1":     "pid must be a positive integer",
		"/api/v1/history?since=soon": "since must be a time in Unix milliseconds",
	} {
		resp, body := get(t, "GET", srv.URL+path)
		var e struct{ Error string }
		if resp.StatusCode != 400 || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, want) {
			t.Errorf("%s: %d %s, want 400 and %q", path, resp.StatusCode, body, want)
		}
	}
}
