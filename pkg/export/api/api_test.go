package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

type fakeSource struct{ snap model.Snapshot }

func (f *fakeSource) Snapshot() model.Snapshot { return f.snap }

func serve(t *testing.T, snap model.Snapshot) *httptest.Server {
	t.Helper()
	h, err := New(Config{Source: &fakeSource{snap: snap}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fixture() model.Snapshot {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := &model.Sample{
		Time: at, PID: 100, GoVersion: "go1.26.8", RSSBytes: 1234,
		Findings: []model.Finding{{Kind: "finalizer_stall", Severity: "warning", Since: at, Summary: "stuck"}},
	}
	return model.Snapshot{
		Time: at,
		Processes: []model.Process{
			{PID: 100, Comm: "svc", GoVersion: "go1.26.8", PodUID: "pod-1", Pod: "web", Namespace: "shop", Container: "app", State: model.StateWatching, Since: at, Sample: s},
			{PID: 200, Comm: "new", State: model.StateWatching, Since: at},
			{PID: 300, Comm: "old", GoVersion: "go1.19", State: model.StateUnsupported, Reason: "go1.19 is too old"},
		},
		Stats: model.Stats{Ready: true},
	}
}

func TestAgentAPIProcesses(t *testing.T) {
	srv := serve(t, fixture())
	code, body := fetch(t, "GET", srv.URL+"/api/v1/processes")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var list ProcessList
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Processes) != 3 {
		t.Fatalf("%d processes: %s", len(list.Processes), body)
	}
	p := list.Processes[0]
	if p.PID != 100 || p.State != "watching" || p.RSSBytes == nil || *p.RSSBytes != 1234 || len(p.Findings) != 1 || p.PodUID != "pod-1" ||
		p.Pod != "web" || p.Namespace != "shop" || p.Container != "app" {
		t.Errorf("first process: %+v", p)
	}
	if q := list.Processes[2]; q.State != "unsupported" || q.Reason == "" || q.SampledAt != nil || q.Findings == nil {
		t.Errorf("unsupported process: %+v", q)
	}
	for _, want := range []string{`"sampled_at":null`, `"findings":[]`, `"namespace":""`, `"pod":"web"`, `"container":"app"`} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in %s", want, body)
		}
	}
}

func TestAgentAPIProcess(t *testing.T) {
	srv := serve(t, fixture())
	code, body := fetch(t, "GET", srv.URL+"/api/v1/processes/100")
	var s model.Sample
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil || s.PID != 100 || s.RSSBytes != 1234 {
		t.Errorf("pid 100: %d %s", code, body)
	}
	for path, want := range map[string]struct {
		code int
		text string
	}{
		"/api/v1/processes/200": {404, "no sample yet"},
		"/api/v1/processes/300": {404, "not watched (unsupported): go1.19 is too old"},
		"/api/v1/processes/400": {404, "not a Go process"},
		"/api/v1/processes/-1":  {400, "positive integer"},
	} {
		code, body := fetch(t, "GET", srv.URL+path)
		var e struct{ Error string }
		if code != want.code || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, want.text) {
			t.Errorf("%s: %d %s, want %d and %q", path, code, body, want.code, want.text)
		}
	}
}

func TestAgentAPIFindings(t *testing.T) {
	srv := serve(t, fixture())
	_, body := fetch(t, "GET", srv.URL+"/api/v1/findings")
	var fl FindingList
	if err := json.Unmarshal([]byte(body), &fl); err != nil {
		t.Fatal(err)
	}
	if len(fl.Findings) != 1 || fl.Findings[0].PID != 100 || fl.Findings[0].Kind != "finalizer_stall" || fl.Findings[0].PodUID != "pod-1" ||
		fl.Findings[0].Pod != "web" || fl.Findings[0].Namespace != "shop" || fl.Findings[0].Container != "app" {
		t.Errorf("findings: %s", body)
	}
}

func TestAgentAPIHealthAndReadOnly(t *testing.T) {
	snap := fixture()
	srv := serve(t, snap)
	if code, _ := fetch(t, "GET", srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := fetch(t, "GET", srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d", code)
	}
	for _, m := range []string{"POST", "PUT", "DELETE"} {
		if code, _ := fetch(t, m, srv.URL+"/api/v1/processes/100"); code != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, code)
		}
	}
	snap.Stats.Ready = false
	if code, _ := fetch(t, "GET", serve(t, snap).URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the initial scan: %d, want 503", code)
	}
}
