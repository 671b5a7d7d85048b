package config

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// filters compiles the excludes section's regular expressions, namespaces
// and pod selector into s, reporting each invalid one to bad.
func filters(e Excludes, s *Settings, bad func(key, format string, a ...any)) {
	for _, r := range []struct {
		key, expr string
		dst       **regexp.Regexp
	}{
		{"excludes.comm", e.Comm, &s.ExcludeComm}, {"excludes.include_comm", e.IncludeComm, &s.IncludeComm},
		{"excludes.cgroup", e.Cgroup, &s.ExcludeCgroup}, {"excludes.include_cgroup", e.IncludeCgroup, &s.IncludeCgroup},
	} {
		if r.expr == "" {
			continue
		}
		re, err := regexp.Compile(r.expr)
		if err != nil {
			bad(r.key, "must be a Go regular expression: %v", err)
			continue
		}
		*r.dst = re
	}
	for _, n := range []struct {
		key  string
		list []string
		dst  *[]string
	}{{"excludes.namespaces", e.Namespaces, &s.ExcludeNamespaces}, {"excludes.include_namespaces", e.IncludeNamespaces, &s.IncludeNamespaces}} {
		if err := CheckNamespaces(n.list); err != nil {
			bad(n.key, "%v", err)
			continue
		}
		*n.dst = n.list
	}
	sel, err := ParsePodSelector(e.PodSelector)
	if err != nil {
		bad("excludes.pod_selector", "%v", err)
	}
	s.PodSelector = sel
}

// CheckNamespaces checks that each name is a Kubernetes namespace name (an
// RFC 1123 label: lower-case alphanumerics and '-', at most 63).
func CheckNamespaces(names []string) error {
	for _, n := range names {
		if len(validation.IsDNS1123Label(n)) > 0 {
			return fmt.Errorf("%q is not a namespace name (lower-case letters, digits and '-', at most 63)", n)
		}
	}
	return nil
}

// ParsePodSelector parses a Kubernetes label selector ("app=web",
// "tier in (api,web),!canary"); "" is no selector (nil).
func ParsePodSelector(s string) (labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("must be a Kubernetes label selector such as app=web,tier!=batch: %w", oneLine{err})
	}
	return sel, nil
}

// oneLine is an error with its multi-line message joined into one line.
type oneLine struct{ err error }

func (o oneLine) Error() string { return strings.Join(strings.Fields(o.err.Error()), " ") }
func (o oneLine) Unwrap() error { return o.err }
