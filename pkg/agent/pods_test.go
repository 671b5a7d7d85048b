package agent_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/export/prom"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// fakePods is an agent.Pods the test fills in, as pkg/kube's informer does.
type fakePods struct {
	mu   sync.Mutex
	pods map[string]model.Pod // by pod UID
	cid  map[string]string    // container ID of each pod UID
}

func (f *fakePods) Lookup(podUID, containerID string) (model.Pod, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pods[podUID]
	if ok && f.cid[podUID] != containerID {
		p.Container = ""
	}
	return p, ok
}

func (f *fakePods) set(c *testutil.PodCgroup, p model.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pods[c.UID], f.cid[c.UID] = p, c.ContainerID
}

// processOf returns pid's entry in a snapshot.
func processOf(a *agent.Agent, pid int) (model.Process, bool) {
	for _, p := range a.Snapshot().Processes {
		if p.PID == pid {
			return p, true
		}
	}
	return model.Process{}, false
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAgentPods runs real Go processes in kubepods-shaped cgroups: a
// process whose pod the informer has not seen yet is watched without
// names, gets them once the pod is known (in the Snapshot and in the
// metrics' labels), and is detached when its pod is annotated
// memsight.io/ignore=true; a process of a pod ignored from the start is
// never attached.
func TestAgentPods(t *testing.T) {
	exe := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	base := testutil.NewCgroupBase(t, "memsight-agent-test-")
	web, batch := testutil.NewPodCgroup(t, base), testutil.NewPodCgroup(t, base)
	pods := &fakePods{pods: map[string]model.Pod{}, cid: map[string]string{}}

	tg := testutil.StartTarget(t, exe)
	web.Move(t, tg.Pid)
	// MinProcessAge: a process is inspected once it is in its pod's cgroup
	// (a container's processes start there; the test's move them).
	a := agent.RunTestAgent(t, "^idle", func(c *agent.Config) { c.Pods, c.MinProcessAge = pods, 500*time.Millisecond })

	waitUntil(t, "the process watched", func() bool { p, _ := processOf(a, tg.Pid); return p.State == model.StateWatching })
	p, _ := processOf(a, tg.Pid)
	if p.PodUID != web.UID || p.ContainerID != web.ContainerID || p.Pod != "" || p.Namespace != "" {
		t.Fatalf("before the pod is known: %+v", p)
	}

	pods.set(web, model.Pod{Name: "web-7d9f", Namespace: "shop", Container: "app"})
	waitUntil(t, "the pod's names and a sample", func() bool { p, _ := processOf(a, tg.Pid); return p.Pod == "web-7d9f" && p.Sample != nil })
	if p, _ = processOf(a, tg.Pid); p.Namespace != "shop" || p.Container != "app" || p.State != model.StateWatching {
		t.Fatalf("after the pod is known: %+v", p)
	}
	exp, err := prom.New(prom.Config{Source: a})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(exp.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `container="app",namespace="shop",pid="`; !strings.Contains(string(body), want) ||
		!strings.Contains(string(body), `pod="web-7d9f"`) {
		t.Errorf("no series labelled %s…pod=\"web-7d9f\" in the scrape:\n%s", want, grepLines(string(body), "memsight_process_rss_bytes"))
	}
	if want := `container="app",go_version="` + p.GoVersion + `",namespace="shop",pid="`; !strings.Contains(grepLines(string(body), "memsight_process_info"), want) {
		t.Errorf("no memsight_process_info labelled %s… in the scrape:\n%s", want, grepLines(string(body), "memsight_process_info"))
	}

	pods.set(web, model.Pod{Name: "web-7d9f", Namespace: "shop", Container: "app", Ignored: true})
	waitUntil(t, "the process detached", func() bool { p, _ := processOf(a, tg.Pid); return p.State == model.StateIgnored })
	p, _ = processOf(a, tg.Pid)
	st := a.Snapshot().Stats
	if st.Watched != 0 || st.Binaries != 0 || st.Skipped["ignored"] != 1 || !strings.Contains(p.Reason, "shop/web-7d9f") {
		t.Errorf("after the pod was annotated: %+v, stats %+v", p, st)
	}

	pods.set(batch, model.Pod{Name: "batch-1", Namespace: "jobs", Container: "main", Ignored: true})
	tg2 := testutil.StartTarget(t, exe)
	batch.Move(t, tg2.Pid)
	var states []string
	waitUntil(t, "the ignored pod's process listed", func() bool {
		p, _ := processOf(a, tg2.Pid)
		if p.State != "" && (len(states) == 0 || states[len(states)-1] != p.State) {
			states = append(states, p.State)
		}
		return p.State == model.StateIgnored
	})
	if p, _ := processOf(a, tg2.Pid); p.Pod != "batch-1" || p.Container != "main" || p.Sample != nil || len(states) != 1 {
		t.Errorf("the ignored pod's process: %+v (states %v)", p, states)
	}
	if st := a.Snapshot().Stats; st.Skipped["ignored"] != 2 || st.Watched != 0 {
		t.Errorf("stats %+v", st)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
