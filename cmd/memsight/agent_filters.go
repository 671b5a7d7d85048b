package main

import (
	"regexp"

	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
)

// filterFlags are the agent's cgroup and pod filters (the excludes section's
// cgroup, include_cgroup, namespaces, include_namespaces, pod_selector).
type filterFlags struct {
	excludeCgroup, includeCgroup string
	excludeNS, includeNS         []string
	podSelector                  string
}

func addFilterFlags(f *pflag.FlagSet, o *filterFlags) {
	f.StringVar(&o.excludeCgroup, "exclude-cgroup", "", `never attach to processes whose cgroup path (in any hierarchy) matches this regular expression, e.g. 'system\.slice/' or 'kubepods-besteffort'`)
	f.StringVar(&o.includeCgroup, "include-cgroup", "", "attach only to processes whose cgroup path (in any hierarchy) matches this regular expression")
	f.StringSliceVar(&o.excludeNS, "exclude-namespace", nil, "never attach to processes of pods in this Kubernetes namespace (repeatable, or comma-separated)")
	f.StringSliceVar(&o.includeNS, "include-namespace", nil, "attach only to processes of pods in this Kubernetes namespace (repeatable, or comma-separated; processes outside pods are left out)")
	f.StringVar(&o.podSelector, "pod-selector", "", "attach only to processes of pods matching this Kubernetes label selector, e.g. 'app=web,tier!=batch' (processes outside pods are left out)")
}

// applyFilterFlags puts the filter flags given on the command line over s,
// with the file's validation; an invalid one is a usage error.
func applyFilterFlags(s *config.Settings, flags *pflag.FlagSet, o filterFlags) error {
	for _, r := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{{"exclude-cgroup", o.excludeCgroup, &s.ExcludeCgroup}, {"include-cgroup", o.includeCgroup, &s.IncludeCgroup}} {
		if !flags.Changed(r.flag) {
			continue
		}
		re, err := regexp.Compile(r.expr)
		if err != nil {
			return usagef("--%s: %v", r.flag, err)
		}
		*r.dst = re
		if r.expr == "" {
			*r.dst = nil
		}
	}
	for _, n := range []struct {
		flag string
		list []string
		dst  *[]string
	}{{"exclude-namespace", o.excludeNS, &s.ExcludeNamespaces}, {"include-namespace", o.includeNS, &s.IncludeNamespaces}} {
		if !flags.Changed(n.flag) {
			continue
		}
		if err := config.CheckNamespaces(n.list); err != nil {
			return usagef("--%s: %v", n.flag, err)
		}
		*n.dst = n.list
	}
	if flags.Changed("pod-selector") {
		sel, err := config.ParsePodSelector(o.podSelector)
		if err != nil {
			return usagef("--pod-selector: %v", err)
		}
		s.PodSelector = sel
	}
	return nil
}

// filters are the agent's Filters of resolved settings.
func filters(s config.Settings) agent.Filters {
	return agent.Filters{ExcludeCgroup: s.ExcludeCgroup, IncludeCgroup: s.IncludeCgroup,
		ExcludeNamespaces: s.ExcludeNamespaces, IncludeNamespaces: s.IncludeNamespaces, PodSelector: s.PodSelector}
}
