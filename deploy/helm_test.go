package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/memsight/memsight/pkg/config"
)

// monitoringAPIs are the --api-versions of a cluster with the Prometheus
// Operator's CRDs.
var monitoringAPIs = []string{"--api-versions", "monitoring.coreos.com/v1"}

// helmTemplate renders the chart with `helm template` (release memsight in
// namespace ns) and the given extra arguments.
func helmTemplate(t *testing.T, ns string, args ...string) ([]byte, error) {
	t.Helper()
	helm := requireHelm(t)
	cmd := exec.Command(helm, append([]string{"template", "memsight", chartDir, "--namespace", ns}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &helmError{args: args, err: err, stderr: stderr.String()}
	}
	return out, nil
}

type helmError struct {
	args   []string
	err    error
	stderr string
}

func (e *helmError) Error() string {
	return "helm template " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

// renderChart renders the chart with values (merged over values.yaml, as
// helm -f does) on a cluster with the Prometheus Operator.
func renderChart(t *testing.T, ns string, values map[string]any, args ...string) []byte {
	t.Helper()
	var all []string
	if values != nil {
		b, err := json.Marshal(values)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "values.json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		all = append(all, "-f", f)
	}
	all = append(append(all, monitoringAPIs...), args...)
	out, err := helmTemplate(t, ns, all...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeStream decodes a multi-document YAML stream strictly.
func decodeStream(t *testing.T, name string, stream []byte) *objects {
	t.Helper()
	var o objects
	for i, doc := range bytes.Split(stream, []byte("\n---")) {
		doc = bytes.TrimPrefix(doc, []byte("---"))
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s: document %d: %v\n%s", name, i, err, doc)
		}
		if len(m) == 0 {
			continue // empty, or comments only
		}
		o.decode(t, name, doc)
	}
	return &o
}

// requireHelm returns the helm binary on PATH. Without one the test fails
// (make test installs it) unless MEMSIGHT_SKIP_HELM=1 asks to skip, like
// MEMSIGHT_SKIP_BPF for the BPF tests.
func requireHelm(t *testing.T) string {
	t.Helper()
	helm, err := exec.LookPath("helm")
	if err == nil {
		return helm
	}
	if os.Getenv("MEMSIGHT_SKIP_HELM") == "1" {
		t.Skip("MEMSIGHT_SKIP_HELM=1: helm tests skipped on request")
	}
	t.Fatalf("helm is not on PATH (%v): install it with `go install helm.sh/helm/v3/cmd/helm@v3.22.0` (make test does: .ci/setup), or set MEMSIGHT_SKIP_HELM=1 to skip", err)
	return ""
}

func container(t *testing.T, o *objects, name string) corev1.Container {
	t.Helper()
	for _, c := range o.daemonSets[0].Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

func TestHelmChart(t *testing.T) {
	o := decodeStream(t, "chart (defaults)", renderChart(t, "observability", nil))
	if len(o.namespaces) != 0 {
		t.Error("the chart must not create the Namespace (helm --create-namespace does)")
	}
	o.check(t, "observability", true)

	o = decodeStream(t, "chart (monitoring off)", renderChart(t, "memsight", map[string]any{
		"serviceMonitor": map[string]any{"enabled": false}, "prometheusRule": map[string]any{"enabled": false},
	}))
	o.check(t, "memsight", false)

	// extraCapabilities: added to the four; SYS_ADMIN forbids allowPrivilegeEscalation: false.
	o = decodeStream(t, "chart (SYS_ADMIN)", renderChart(t, "memsight", map[string]any{"extraCapabilities": []any{"SYS_ADMIN"}}))
	sc := o.daemonSets[0].Spec.Template.Spec.Containers[0].SecurityContext
	if want := append(slices.Clone(wantCaps), "SYS_ADMIN"); !slices.Equal(sc.Capabilities.Add, want) || *sc.Privileged {
		t.Errorf("extraCapabilities [SYS_ADMIN]: add %v, want %v, not privileged", sc.Capabilities.Add, want)
	}
	if sc.AllowPrivilegeEscalation != nil {
		t.Error("with SYS_ADMIN, allowPrivilegeEscalation must be unset (the API rejects false)")
	}

	o = decodeStream(t, "chart (privileged)", renderChart(t, "memsight", map[string]any{"privileged": true}))
	sc = o.daemonSets[0].Spec.Template.Spec.Containers[0].SecurityContext
	if sc.Privileged == nil || !*sc.Privileged || sc.Capabilities != nil || sc.AllowPrivilegeEscalation != nil {
		t.Errorf("privileged: true: securityContext %+v", sc)
	}
	if !*sc.ReadOnlyRootFilesystem {
		t.Error("privileged: readOnlyRootFilesystem must stay true")
	}

	// Node placement and config values reach the DaemonSet.
	o = decodeStream(t, "chart (placement)", renderChart(t, "memsight", map[string]any{
		"nodeSelector": map[string]any{"kubernetes.io/os": nil, "pool": "go"},
		"tolerations":  []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "go", "effect": "NoSchedule"}},
		"config": map[string]any{"interval": "2s",
			"excludes":   map[string]any{"comm": "^(kubelet|containerd)$", "include_comm": "", "max_processes": 64, "min_process_age": "5s"},
			"thresholds": map[string]any{"stall_threshold": "5s", "backlog_window": "1m"}},
		"logLevel": "debug",
	}))
	spec := o.daemonSets[0].Spec.Template.Spec
	if !reflect.DeepEqual(spec.NodeSelector, map[string]string{"pool": "go"}) ||
		len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "dedicated" || spec.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("nodeSelector %v tolerations %+v", spec.NodeSelector, spec.Tolerations)
	}
	if args := spec.Containers[0].Args; !slices.Contains(args, "--log-level=debug") {
		t.Errorf("args %v: no --log-level=debug", args)
	}
	// The settings reach the agent through config.yaml.
	st := resolvedConfig(t, o)
	if st.Interval != 2*time.Second || st.MaxProcesses != 64 || st.MinProcessAge == nil || *st.MinProcessAge != 5*time.Second ||
		st.ExcludeComm == nil || st.ExcludeComm.String() != "^(kubelet|containerd)$" || st.IncludeComm != nil ||
		st.Detect.StallThreshold != 5*time.Second || st.Listen != ":9464" {
		t.Errorf("rendered config resolves to %+v", st)
	}
}

// resolvedConfig is the rendered config.yaml, resolved as the agent does.
func resolvedConfig(t *testing.T, o *objects) config.Settings {
	t.Helper()
	f, err := config.Parse([]byte(o.configMaps[0].Data["config.yaml"]))
	if err != nil {
		t.Fatalf("rendered config.yaml: %v", err)
	}
	st, err := config.Resolve(f, "")
	if err != nil {
		t.Fatalf("rendered config.yaml: %v", err)
	}
	return st
}

// TestChartMatchesBase: with default values the chart renders the kustomize
// base's DaemonSet pod spec, RBAC, config and rules (less labels and names).
func TestChartMatchesBase(t *testing.T) {
	chart := decodeStream(t, "chart", renderChart(t, "memsight", nil))
	var base objects
	for _, f := range []string{"daemonset.yaml", "clusterrole.yaml", "configmap.yaml", "prometheusrule.yaml"} {
		base.decode(t, f, readFile(t, filepath.Join(kustomizeDir, f)))
	}
	a, b := base.daemonSets[0].Spec.Template.Spec, chart.daemonSets[0].Spec.Template.Spec
	a.Containers[0].Image, b.Containers[0].Image = "", ""
	a.Volumes[0].ConfigMap.Name, b.Volumes[0].ConfigMap.Name = "", ""
	if !reflect.DeepEqual(a, b) {
		ja, _ := yaml.Marshal(a)
		jb, _ := yaml.Marshal(b)
		t.Errorf("DaemonSet pod specs differ:\nkustomize:\n%s\nchart:\n%s", ja, jb)
	}
	if !reflect.DeepEqual(base.clusterRoles[0].Rules, chart.clusterRoles[0].Rules) {
		t.Error("ClusterRole rules differ")
	}
	if sb, sc := fmt.Sprintf("%+v", resolvedConfig(t, &base)), fmt.Sprintf("%+v", resolvedConfig(t, chart)); sb != sc { // nil and empty slices alike
		t.Errorf("config.yaml resolves differently:\nkustomize: %s\nchart:     %s", sb, sc)
	}
}

// TestRulesInSync: the chart, with its default values, renders the rules of
// the kustomize base; every alert is in values.yaml's prometheusRule.rules.
func TestRulesInSync(t *testing.T) {
	var base prometheusRule
	strict(t, "prometheusrule.yaml", readFile(t, filepath.Join(kustomizeDir, "prometheusrule.yaml")), &base)
	chart := decodeStream(t, "chart", renderChart(t, "memsight", nil))
	if len(chart.rules) != 1 {
		t.Fatalf("%d PrometheusRules", len(chart.rules))
	}
	a, _ := json.MarshalIndent(base.Spec, "", " ")
	b, _ := json.MarshalIndent(chart.rules[0].Spec, "", " ")
	if !bytes.Equal(a, b) {
		t.Errorf("deploy/kubernetes/prometheusrule.yaml and the chart's default rules differ:\nkustomize:\n%s\nchart:\n%s", a, b)
	}
}
