package config

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// TestFilters: the cgroup, namespace and pod-selector excludes decode
// strictly, compile, and an invalid one is one line naming its key.
func TestFilters(t *testing.T) {
	f, err := Parse([]byte(`excludes:
  cgroup: 'system\.slice/'
  include_cgroup: kubepods
  namespaces: [kube-system, monitoring]
  include_namespaces: [shop]
  pod_selector: "app in (web,api),!canary"
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Resolve(f, "")
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExcludeCgroup.MatchString("/system.slice/containerd.service") || !s.IncludeCgroup.MatchString("/kubepods.slice/x") ||
		!slices.Equal(s.ExcludeNamespaces, []string{"kube-system", "monitoring"}) || !slices.Equal(s.IncludeNamespaces, []string{"shop"}) {
		t.Errorf("settings: %+v", s)
	}
	if s.PodSelector == nil || !s.PodSelector.Matches(labels.Set{"app": "web"}) || s.PodSelector.Matches(labels.Set{"app": "web", "canary": "1"}) ||
		s.PodSelector.Matches(labels.Set{"app": "db"}) {
		t.Errorf("pod selector %v", s.PodSelector)
	}
	if s, err := Resolve(nil, ""); err != nil || s.PodSelector != nil || s.ExcludeCgroup != nil || s.IncludeNamespaces != nil {
		t.Errorf("no filters: %+v, %v", s, err)
	}

	for _, c := range []struct{ doc, want string }{
		{"excludes:\n  cgroups: x\n", `line 2: unknown key "cgroups" in excludes (allowed: comm, include_comm, max_processes, min_process_age, cgroup, include_cgroup, namespaces, include_namespaces, pod_selector)`},
		{"excludes:\n  namespaces: kube-system\n", "line 2: cannot unmarshal"},
		{"excludes:\n  cgroup: '('\n", "excludes.cgroup: must be a Go regular expression"},
		{"excludes:\n  include_cgroup: '[a'\n", "excludes.include_cgroup: must be a Go regular expression"},
		{"excludes:\n  namespaces: [Kube_System]\n", `excludes.namespaces: "Kube_System" is not a namespace name`},
		{"excludes:\n  include_namespaces: ['']\n", `excludes.include_namespaces: "" is not a namespace name`},
		{"excludes:\n  pod_selector: 'app=(web'\n", "excludes.pod_selector: must be a Kubernetes label selector such as app=web,tier!=batch:"},
		{"excludes:\n  pod_selector: 'app in web'\n", "excludes.pod_selector: must be a Kubernetes label selector"},
	} {
		f, err := Parse([]byte(c.doc))
		if err == nil {
			_, err = Resolve(f, "")
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.doc, err, c.want)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", c.doc, err)
		}
	}
}

// TestParsePodSelector: "" is no selector; errors are one line.
func TestParsePodSelector(t *testing.T) {
	if sel, err := ParsePodSelector("  "); sel != nil || err != nil {
		t.Errorf(`ParsePodSelector("  ") = %v, %v`, sel, err)
	}
	if sel, err := ParsePodSelector("tier=api"); err != nil || sel.String() != "tier=api" {
		t.Errorf("ParsePodSelector(tier=api) = %v, %v", sel, err)
	}
	if _, err := ParsePodSelector("a=b,,=c"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("ParsePodSelector(bad) = %v", err)
	}
}
