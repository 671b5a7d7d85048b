package agent_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// statesOf waits until pid is in state want, recording the states it went
// through, and returns them with its last listing.
func statesOf(t *testing.T, a *agent.Agent, pid int, want string) ([]string, model.Process) {
	t.Helper()
	var states []string
	var last model.Process
	waitUntil(t, "pid in state "+want, func() bool {
		last, _ = processOf(a, pid)
		if last.State != "" && (len(states) == 0 || states[len(states)-1] != last.State) {
			states = append(states, last.State)
		}
		return last.State == want
	})
	return states, last
}

// TestAgentExcludeCgroup runs real Go processes in created cgroups: the one
// whose cgroup path matches ExcludeCgroup is listed excluded, never
// attached, with a Reason naming the rule and the path; a Reconfigure to an
// IncludeCgroup leaves out a new process outside it and keeps the watched
// one watched (cgroup filters apply at inspection).
func TestAgentExcludeCgroup(t *testing.T) {
	exe := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	base := testutil.NewCgroupBase(t, "memsight-agent-test-")
	sys := testutil.NewCgroup(t, base, "system.slice", "memsight-test.service")
	apps := testutil.NewCgroup(t, base, "apps.slice", "web.scope")
	t1, t2 := testutil.StartTarget(t, exe), testutil.StartTarget(t, exe)
	sys.Move(t, t1.Pid)
	apps.Move(t, t2.Pid)
	include := regexp.MustCompile("^idle")
	exclude := regexp.MustCompile(`system\.slice/`)
	a := agent.RunTestAgent(t, include.String(), func(c *agent.Config) {
		c.MinProcessAge, c.ExcludeCgroup = 500*time.Millisecond, exclude
	})

	states, p := statesOf(t, a, t1.Pid, model.StateExcluded)
	path := "/" + base + "/system.slice/memsight-test.service"
	if len(states) != 1 || p.Sample != nil || p.GoVersion == "" ||
		p.Reason != `cgroup `+path+` matches excludes.cgroup "system\\.slice/"` {
		t.Errorf("the process in system.slice: %+v (states %v)", p, states)
	}
	statesOf(t, a, t2.Pid, model.StateWatching)
	if st := a.Snapshot().Stats; st.Skipped["excluded"] < 1 || st.Watched != 1 {
		t.Errorf("stats %+v", st)
	}

	err := a.Reconfigure(agent.Tunables{Detect: detect.Defaults(), IncludeComm: include, MinProcessAge: 500 * time.Millisecond,
		Filters: agent.Filters{IncludeCgroup: regexp.MustCompile(`/system\.slice/`)}})
	if err != nil {
		t.Fatal(err)
	}
	t3 := testutil.StartTarget(t, exe)
	apps.Move(t, t3.Pid)
	if _, p := statesOf(t, a, t3.Pid, model.StateExcluded); !strings.Contains(p.Reason, `matches excludes.include_cgroup "/system\\.slice/"`) ||
		!strings.Contains(p.Reason, "/apps.slice/web.scope") {
		t.Errorf("the new process outside the included cgroup: %+v", p)
	}
	if p, _ := processOf(a, t2.Pid); p.State != model.StateWatching {
		t.Errorf("the process watched before the Reconfigure: %+v", p)
	}
}

// TestAgentPodFilters runs real Go processes in kubepods-shaped cgroups
// with a fake Pods: a process whose pod is not known yet is watched; it is
// detached at its next sample when its labels stop matching the selector,
// attached again when they match again, and detached by a Reconfigure that
// excludes its namespace; a process of an excluded namespace is never
// attached.
func TestAgentPodFilters(t *testing.T) {
	exe := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	base := testutil.NewCgroupBase(t, "memsight-agent-test-")
	web, sys := testutil.NewPodCgroup(t, base), testutil.NewPodCgroup(t, base)
	pods := &fakePods{pods: map[string]model.Pod{}, cid: map[string]string{}}
	include := regexp.MustCompile("^idle")
	sel, err := labels.Parse("app=web")
	if err != nil {
		t.Fatal(err)
	}
	filters := agent.Filters{PodSelector: sel, ExcludeNamespaces: []string{"kube-system"}}

	tg := testutil.StartTarget(t, exe)
	web.Move(t, tg.Pid)
	a := agent.RunTestAgent(t, include.String(), func(c *agent.Config) {
		c.Pods, c.MinProcessAge, c.Filters = pods, 500*time.Millisecond, filters
	})
	statesOf(t, a, tg.Pid, model.StateWatching) // the pod is not known yet

	webPod := func(app string) model.Pod {
		return model.Pod{Name: "web-1", Namespace: "shop", Container: "app", Labels: map[string]string{"app": app}}
	}
	pods.set(web, webPod("web"))
	waitUntil(t, "the pod's names", func() bool { p, _ := processOf(a, tg.Pid); return p.Pod == "web-1" && p.Sample != nil })

	pods.set(web, webPod("web-canary"))
	_, p := statesOf(t, a, tg.Pid, model.StateExcluded)
	if st := a.Snapshot().Stats; p.Reason != `pod shop/web-1 does not match excludes.pod_selector "app=web"` || st.Watched != 0 || st.Binaries != 0 {
		t.Errorf("after the labels changed: %+v, stats %+v", p, st)
	}
	pods.set(web, webPod("web"))
	statesOf(t, a, tg.Pid, model.StateWatching)

	pods.set(sys, model.Pod{Name: "proxy-x", Namespace: "kube-system", Container: "proxy", Labels: map[string]string{"app": "web"}})
	tg2 := testutil.StartTarget(t, exe)
	sys.Move(t, tg2.Pid)
	if states, p := statesOf(t, a, tg2.Pid, model.StateExcluded); len(states) != 1 || p.Pod != "proxy-x" ||
		p.Reason != "pod kube-system/proxy-x: namespace kube-system is in excludes.namespaces" {
		t.Errorf("the excluded namespace's process: %+v (states %v)", p, states)
	}

	filters.ExcludeNamespaces = []string{"shop"}
	if err := a.Reconfigure(agent.Tunables{Detect: detect.Defaults(), IncludeComm: include, MinProcessAge: 500 * time.Millisecond, Filters: filters}); err != nil {
		t.Fatal(err)
	}
	if _, p := statesOf(t, a, tg.Pid, model.StateExcluded); p.Reason != "pod shop/web-1: namespace shop is in excludes.namespaces" {
		t.Errorf("after the Reconfigure: %+v", p)
	}
	statesOf(t, a, tg2.Pid, model.StateWatching) // kube-system is no longer excluded
	if st := a.Snapshot().Stats; st.Watched != 1 || st.Skipped["excluded"] < 1 {
		t.Errorf("stats %+v", st)
	}
}
