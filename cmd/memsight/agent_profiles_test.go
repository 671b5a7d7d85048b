package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/memsight/memsight/pkg/export/api"
	"github.com/memsight/memsight/pkg/testutil"
)

// pyroscopeServer is a stand-in for Pyroscope's /ingest: it decodes every
// body with the pprof library and keeps what it received.
type pyroscopeServer struct {
	*httptest.Server
	mu     sync.Mutex
	pushes []pushed
	errs   []string
}

type pushed struct {
	name, from, until, format string
	prof                      *profile.Profile
}

func newPyroscopeServer(t *testing.T) *pyroscopeServer {
	s := &pyroscopeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, err := profile.Parse(r.Body)
		if r.URL.Path != "/ingest" || err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s: %v", r.URL, err))
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		q := r.URL.Query()
		s.pushes = append(s.pushes, pushed{q.Get("name"), q.Get("from"), q.Get("until"), q.Get("format"), p})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *pyroscopeServer) received() ([]pushed, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pushes), slices.Clone(s.errs)
}

// getProfile GETs a pprof endpoint of the agent and parses it.
func getProfile(t *testing.T, a *agentRun, path string) *profile.Profile {
	t.Helper()
	code, body := a.get(t, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	p, err := profile.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: not a pprof profile: %v", path, err)
	}
	return p
}

// TestAgentProfiles: the agent serves each watched process's heap and
// goroutine profiles from memory (heapleak's top in-use function is its
// leaker; goleak's biggest stack holds the goroutines it leaked), labelled
// in the comments; a process without a heap profile gets 422 with the
// reason; /api/v1/targets lists exactly the watched processes for a
// scraper; the Pyroscope push sends both profiles of both processes with
// their labels; and heapleak's growth evidence (rss_growth or heap_growth) holds the heap profile
// of the start of the window and the difference, whose top is the leaker.
func TestAgentProfiles(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	v := testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}
	heapleak := copyTarget(t, "heapleak", v, "prof-heapleak")
	goleak := copyTarget(t, "goleak", v, "prof-goleak")
	idle := copyTarget(t, "idle", v, "prof-idle")
	pyro := newPyroscopeServer(t)
	conf := filepath.Join(t.TempDir(), "memsight.yaml")
	// A short growth window, so heap_growth fires within the test, and a
	// heap ring every 3 s.
	if err := os.WriteFile(conf, []byte("thresholds:\n  growth_window: 16s\nprofiles:\n  heap_ring_interval: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, "--include-comm", "^prof-", "--interval", "500ms", "--config", conf,
		"--pyroscope-url", pyro.URL, "--profile-interval", "2s")
	hl := testutil.StartTarget(t, heapleak, "-memprofilerate", "4096")
	gl := testutil.StartTarget(t, goleak, "-rate=20000", "-max=300", "-print=1h")
	id := testutil.StartTarget(t, idle)
	hl.WaitLine(t, "READY", 20*time.Second)
	gl.WaitLine(t, "STEADY", 30*time.Second)
	id.WaitLine(t, "READY", 20*time.Second)
	a.waitFor(t, 20*time.Second, "the three targets watched", func() bool {
		ps := agentProcesses(t, a)
		n := 0
		for _, pid := range []int{hl.Pid, gl.Pid, id.Pid} {
			if p, ok := ps[pid]; ok && p["state"] == "watching" {
				n++
			}
		}
		return n == 3
	})

	t.Run("heap", func(t *testing.T) {
		p := getProfile(t, a, fmt.Sprintf("/api/v1/processes/%d/pprof/heap", hl.Pid))
		if top := topFlatFunctions(p, "inuse_space"); len(top) == 0 || top[0] != "main.leakyCache" {
			t.Errorf("top in-use functions %v, want main.leakyCache", top[:min(len(top), 5)])
		}
		for _, c := range []string{fmt.Sprintf("pid=%d", hl.Pid), "comm=prof-heapleak", "go_version=go1."} {
			if !slices.ContainsFunc(p.Comments, func(s string) bool { return strings.HasPrefix(s, c) }) {
				t.Errorf("comments %q lack %q", p.Comments, c)
			}
		}
		// go tool pprof reads the URL itself.
		url := fmt.Sprintf("http://%s/api/v1/processes/%d/pprof/heap", a.addr, hl.Pid)
		top, err := exec.Command("go", "tool", "pprof", "-top", "-sample_index=inuse_space", url).CombinedOutput()
		if err != nil {
			t.Fatalf("go tool pprof %s: %v\n%s", url, err, top)
		}
		if fn := topFunction(string(top)); fn != "main.leakyCache" {
			t.Errorf("go tool pprof -top %s: top function %q, want main.leakyCache\n%s", url, fn, top)
		}
		if p := getProfile(t, a, fmt.Sprintf("/api/v1/processes/%d/pprof/allocs", hl.Pid)); p.DefaultSampleType != "alloc_space" {
			t.Errorf("allocs: default sample type %q", p.DefaultSampleType)
		}
	})
	t.Run("goroutine", func(t *testing.T) {
		p := getProfile(t, a, fmt.Sprintf("/api/v1/processes/%d/pprof/goroutine", gl.Pid))
		var best int64
		for _, s := range p.Sample {
			best = max(best, s.Value[0])
		}
		if best != 300 {
			t.Errorf("largest goroutine group %d, want the 300 leaked", best)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for path, want := range map[string]struct {
			code int
			msg  string
		}{
			fmt.Sprintf("/api/v1/processes/%d/pprof/heap", id.Pid):  {422, "runtime/pprof is not linked in"},
			fmt.Sprintf("/api/v1/processes/%d/pprof/alloc", hl.Pid): {422, "allocation probes"},
			"/api/v1/processes/1/pprof/heap":                        {404, "not watched"},
			fmt.Sprintf("/api/v1/processes/%d/pprof/cpu", hl.Pid):   {404, "no profile"},
		} {
			code, body := a.get(t, path)
			if code != want.code || !strings.Contains(string(body), want.msg) || bytes.Count(body, []byte("\n")) != 1 {
				t.Errorf("GET %s: %d %s; want %d and one line with %q", path, code, body, want.code, want.msg)
			}
		}
	})
	t.Run("targets", func(t *testing.T) {
		code, body := a.get(t, "/api/v1/targets")
		var groups []struct {
			Targets []string          `json:"targets"`
			Labels  map[string]string `json:"labels"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &groups) != nil {
			t.Fatalf("/api/v1/targets: %d %s", code, body)
		}
		var pids, want []string
		for _, g := range groups {
			pids = append(pids, g.Labels["pid"])
			if len(g.Targets) != 1 || g.Targets[0] != a.addr {
				t.Errorf("targets %v, want [%s]", g.Targets, a.addr)
			}
			prefix := g.Labels["__profile_path_prefix__"]
			if prefix != "/api/v1/processes/"+g.Labels["pid"]+"/pprof" || g.Labels["service_name"] == "" || g.Labels["comm"] == "" {
				t.Errorf("labels %v", g.Labels)
			}
			// What a scraper does: the address, the prefix, the type's path.
			if g.Labels["comm"] == "prof-goleak" {
				getProfile(t, a, prefix+"/goroutine")
			}
		}
		for pid, p := range agentProcesses(t, a) {
			if p["state"] == "watching" {
				want = append(want, fmt.Sprint(pid))
			}
		}
		sort.Strings(pids)
		sort.Strings(want)
		if !slices.Equal(pids, want) || len(pids) != 3 {
			t.Errorf("targets for pids %v, the watched processes are %v", pids, want)
		}
	})
	t.Run("push", func(t *testing.T) {
		kinds := func() map[string]bool {
			got := map[string]bool{}
			pushes, _ := pyro.received()
			// name is service{node=...,pid=N}: the service is the comm
			// outside Kubernetes.
			re := regexp.MustCompile(`^(prof-[a-z]+)\{node=[^,]+,pid=(\d+)\}$`)
			for _, p := range pushes {
				if m := re.FindStringSubmatch(p.name); m != nil {
					got[m[1]+" "+m[2]+" "+p.prof.SampleType[0].Type] = true
				} else {
					t.Errorf("push name %q", p.name)
				}
			}
			return got
		}
		want := []string{
			fmt.Sprintf("prof-heapleak %d alloc_objects", hl.Pid), fmt.Sprintf("prof-heapleak %d goroutine", hl.Pid),
			fmt.Sprintf("prof-goleak %d alloc_objects", gl.Pid), fmt.Sprintf("prof-goleak %d goroutine", gl.Pid),
			fmt.Sprintf("prof-idle %d goroutine", id.Pid),
		}
		a.waitFor(t, 15*time.Second, "pushes of every profile", func() bool {
			got := kinds()
			return !slices.ContainsFunc(want, func(w string) bool { return !got[w] })
		})
		pushes, errs := pyro.received()
		if len(errs) > 0 {
			t.Errorf("bad pushes: %v", errs)
		}
		for _, p := range pushes {
			if p.format != "pprof" || p.from == "" || p.until <= p.from {
				t.Errorf("push %s: format %q from %q until %q", p.name, p.format, p.from, p.until)
			}
			if strings.Contains(p.name, fmt.Sprintf("pid=%d", id.Pid)) && p.prof.SampleType[0].Type != "goroutine" {
				t.Errorf("a heap profile pushed for prof-idle, which records none")
			}
		}
	})
	t.Run("growth evidence", func(t *testing.T) {
		var ev struct {
			ID    string `json:"id"`
			Kind  string `json:"kind"`
			Fired struct {
				Profiles []string          `json:"profiles"`
				Errors   map[string]string `json:"errors"`
			} `json:"fired"`
			Links map[string]map[string]string `json:"links"`
		}
		var url string
		a.waitFor(t, 60*time.Second, "growth evidence of prof-heapleak", func() bool {
			if url = a.evidenceURL(t, hl.Pid, "heap_growth", "rss_growth"); url == "" {
				return false
			}
			code, body := a.get(t, url)
			return code == http.StatusOK && json.Unmarshal(body, &ev) == nil
		})
		if !slices.Contains(ev.Fired.Profiles, "heap_diff") || !slices.Contains(ev.Fired.Profiles, "goroutine") {
			t.Fatalf("evidence %s: profiles %v, errors %v", ev.ID, ev.Fired.Profiles, ev.Fired.Errors)
		}
		diff := getProfile(t, a, ev.Links["fired"]["heap_diff"])
		if top := topFlatFunctions(diff, "inuse_space"); len(top) == 0 || top[0] != "main.leakyCache" {
			t.Errorf("growth diff: top in-use functions %v, want main.leakyCache", top[:min(len(top), 5)])
		}
		base := getProfile(t, a, ev.Links["fired"]["heap_base"])
		late := getProfile(t, a, ev.Links["fired"]["heap"])
		if b, l := flatOf(base, "inuse_space", "main.leakyCache"), flatOf(late, "inuse_space", "main.leakyCache"); b <= 0 || l <= b {
			t.Errorf("main.leakyCache in use: %d at the window's start, %d at the finding; want growth", b, l)
		}
	})
}

// evidenceURL is the evidence_url of the active finding of pid of one of
// kinds (the last listed), "" when there is none (or the API failed).
func (a *agentRun) evidenceURL(t *testing.T, pid int, kinds ...string) string {
	code, body := a.get(t, "/api/v1/findings")
	var fl api.FindingList
	if code != http.StatusOK || json.Unmarshal(body, &fl) != nil {
		return ""
	}
	url := ""
	for _, f := range fl.Findings {
		if f.PID == pid && slices.Contains(kinds, f.Kind) {
			url = f.EvidenceURL
		}
	}
	return url
}

// topFlatFunctions lists functions by flat value of a sample type, most first.
func topFlatFunctions(p *profile.Profile, typ string) []string {
	flat := map[string]int64{}
	for _, s := range p.Sample {
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 {
			flat[s.Location[0].Line[0].Function.Name] += s.Value[sampleIndex(p, typ)]
		}
	}
	var names []string
	for n := range flat {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return flat[names[i]] > flat[names[j]] })
	return names
}

func flatOf(p *profile.Profile, typ, fn string) int64 {
	var n int64
	for _, s := range p.Sample {
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function.Name == fn {
			n += s.Value[sampleIndex(p, typ)]
		}
	}
	return n
}

func sampleIndex(p *profile.Profile, typ string) int {
	for i, st := range p.SampleType {
		if st.Type == typ {
			return i
		}
	}
	return 0
}

// TestAgentEvidence: a finalizer_stall's evidence (the sample with the
// stuck stack, the goroutine census and profile, the heap profile) is kept
// when it fires, gets a resolution when the process exits, and is still
// served after.
func TestAgentEvidence(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	finq := copyTarget(t, "finq", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "ev-finq")
	a := startAgent(t, "--include-comm", "^ev-", "--interval", "500ms")
	tg := testutil.StartTarget(t, finq, "-block-after", "1s")
	var url string
	a.waitFor(t, 20*time.Second, "finalizer_stall with evidence", func() bool {
		if url = a.evidenceURL(t, tg.Pid, "finalizer_stall"); url == "" {
			return false
		}
		code, _ := a.get(t, url)
		return code == http.StatusOK
	})
	_, body := a.get(t, url)
	for _, want := range []string{`"kind":"finalizer_stall"`, `main.slowFinalizer`, `"goroutines":{`, `"rss":{`, `"goroutine"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("evidence lacks %s: %s", want, body)
		}
	}
	var ev struct {
		Links map[string]map[string]string `json:"links"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	g := getProfile(t, a, ev.Links["fired"]["goroutine"])
	if !slices.ContainsFunc(g.Function, func(f *profile.Function) bool { return f.Name == "main.slowFinalizer" }) {
		t.Errorf("the goroutine profile has no main.slowFinalizer frame")
	}
	if err := tg.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a.waitFor(t, 20*time.Second, "the evidence resolved", func() bool {
		code, body := a.get(t, url)
		return code == http.StatusOK && strings.Contains(string(body), `"resolved":{`)
	})
	code, body := a.get(t, "/api/v1/evidence")
	if code != http.StatusOK || !strings.Contains(string(body), url) {
		t.Errorf("/api/v1/evidence: %d %s; want %s listed", code, body, url)
	}
}
