package agent

import (
	"regexp"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/memsight/memsight/pkg/model"
)

// TestFiltersCgroup: any cgroup path matching ExcludeCgroup excludes; with
// IncludeCgroup, one path must match (none when unreadable).
func TestFiltersCgroup(t *testing.T) {
	paths := []string{"/", "/system.slice/containerd.service"}
	for _, c := range []struct {
		f     Filters
		paths []string
		want  string
	}{
		{Filters{}, paths, ""},
		{Filters{ExcludeCgroup: regexp.MustCompile(`system\.slice/`)}, paths, `cgroup /system.slice/containerd.service matches excludes.cgroup "system\\.slice/"`},
		{Filters{ExcludeCgroup: regexp.MustCompile(`kubepods`)}, paths, ""},
		{Filters{IncludeCgroup: regexp.MustCompile(`kubepods`)}, paths, `no cgroup path of the process (["/" "/system.slice/containerd.service"]) matches excludes.include_cgroup "kubepods"`},
		{Filters{IncludeCgroup: regexp.MustCompile(`containerd`)}, paths, ""},
		{Filters{IncludeCgroup: regexp.MustCompile(`.`)}, nil, `no cgroup path of the process ([]) matches excludes.include_cgroup "."`},
	} {
		if got := c.f.cgroupExcluded(c.paths); got != c.want {
			t.Errorf("%+v on %q: %q, want %q", c.f, c.paths, got, c.want)
		}
	}
}

// TestFiltersPod: namespaces and the selector apply once the pod is known;
// a process outside pods is left out by the include rules only; nothing
// applies without Config.Pods.
func TestFiltersPod(t *testing.T) {
	sel, err := labels.Parse("app in (web,api)")
	if err != nil {
		t.Fatal(err)
	}
	inPod := model.Process{PodUID: "uid-1"}
	web := model.Pod{Name: "web-1", Namespace: "shop", Labels: map[string]string{"app": "web"}}
	db := model.Pod{Name: "db-1", Namespace: "shop", Labels: map[string]string{"app": "db"}}
	for _, c := range []struct {
		name  string
		f     Filters
		p     model.Process
		pod   model.Pod
		known bool
		want  string
	}{
		{"no filters", Filters{}, model.Process{}, model.Pod{}, false, ""},
		{"selector matches", Filters{PodSelector: sel}, inPod, web, true, ""},
		{"selector does not match", Filters{PodSelector: sel}, inPod, db, true, `pod shop/db-1 does not match excludes.pod_selector "app in (api,web)"`},
		{"pod not known yet", Filters{PodSelector: sel}, inPod, model.Pod{}, false, ""},
		{"outside pods, selector", Filters{PodSelector: sel}, model.Process{}, model.Pod{}, false, `not in a pod: excludes.pod_selector "app in (api,web)" watches only pods`},
		{"outside pods, exclude namespace", Filters{ExcludeNamespaces: []string{"shop"}}, model.Process{}, model.Pod{}, false, ""},
		{"outside pods, include namespace", Filters{IncludeNamespaces: []string{"shop"}}, model.Process{}, model.Pod{}, false, `not in a pod: excludes.include_namespaces ["shop"] watches only pods`},
		{"excluded namespace", Filters{ExcludeNamespaces: []string{"kube-system", "shop"}}, inPod, web, true, "pod shop/web-1: namespace shop is in excludes.namespaces"},
		{"included namespace", Filters{IncludeNamespaces: []string{"shop"}}, inPod, web, true, ""},
		{"namespace not included", Filters{IncludeNamespaces: []string{"jobs"}}, inPod, web, true, `pod shop/web-1: namespace shop is not in excludes.include_namespaces ["jobs"]`},
	} {
		if got := c.f.podExcluded(c.p, c.pod, c.known); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	none := &Agent{}
	if got := none.podVerdict(&Tunables{Filters: Filters{PodSelector: sel}}, model.Process{}, model.Pod{}, false); got != "" {
		t.Errorf("without Config.Pods: %q", got)
	}
}

// TestPodState: the annotation comes first; an entry left out by the pod
// filters is inspected again once its pod matches.
func TestPodState(t *testing.T) {
	known := map[string]model.Pod{
		"uid-web":   {Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}},
		"uid-db":    {Name: "db", Namespace: "shop", Labels: map[string]string{"app": "db"}},
		"uid-batch": {Name: "batch", Namespace: "jobs", Ignored: true, Labels: map[string]string{"app": "web"}},
	}
	a := &Agent{cfg: Config{Pods: podsFunc(func(uid, _ string) (model.Pod, bool) { p, ok := known[uid]; return p, ok })}}
	sel, _ := labels.Parse("app=web")
	a.tun.Store(&Tunables{Filters: Filters{PodSelector: sel}})
	for uid, want := range map[string]state{"uid-web": stInspecting, "uid-db": stExcludedPod, "uid-batch": stIgnored} {
		p := model.Process{PodUID: uid}
		pod, ok := a.enrich(&p)
		if st, why := a.podState(a.tunables(), p, pod, ok); st != want || (st == stInspecting) != (why == "") {
			t.Errorf("%s: state %d (%q), want %d", uid, st, why, want)
		}
	}
	for uid, want := range map[string]bool{"uid-web": true, "uid-db": false, "uid-batch": false, "uid-gone": false, "": false} {
		if got := a.unignored(&entry{info: model.Process{PodUID: uid}}); got != want {
			t.Errorf("unignored(%q) = %v, want %v", uid, got, want)
		}
	}
	a.tun.Store(&Tunables{}) // the selector removed: a process outside pods is inspected again
	if !a.unignored(&entry{state: stExcludedPod}) {
		t.Error("unignored(outside pods) without filters = false")
	}
}
