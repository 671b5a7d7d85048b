// Package deploy_test checks the deployment files under deploy/: the
// kustomize base, the Helm chart, the alert rules, their runbooks and the
// Grafana dashboard. It needs no cluster: every manifest is decoded strictly
// (an unknown or misspelt field fails) into the Kubernetes API types, or into
// small local types for the Prometheus Operator CRDs, and the security
// properties the docs promise are asserted.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/memsight/memsight/pkg/config"
)

const (
	kustomizeDir = "kubernetes"
	chartDir     = "helm/memsight"
	dashboard    = "grafana/memsight.json"
	metricsDoc   = "../docs/metrics.md"
	runbookDir   = "../docs/runbooks"
)

// wantCaps is what the agent adds when not privileged; docs/security.md
// justifies each.
var wantCaps = []corev1.Capability{"BPF", "PERFMON", "SYS_PTRACE", "DAC_READ_SEARCH"}

// wantAlerts are the alerts the PrometheusRule must define, each with a runbook.
var wantAlerts = append(slices.Clone(findingAlerts),
	"MemsightAgentDown", "MemsightAgentAttachErrors", "MemsightAgentEventsLost", "MemsightAgentSampleErrors",
	"MemsightAgentConfigReloadFailed", "MemsightWebhookDeliveryFailures", "MemsightAgentAtCapacity",
)

// findingAlerts are the alerts on findings: their runbooks show memsight attach.
var findingAlerts = []string{
	"MemsightFinalizerStall", "MemsightFinalizerBacklog", "MemsightRSSGrowth", "MemsightHeapGrowth",
	"MemsightGoroutineGrowth", "MemsightFDGrowth", "MemsightGCPauseRegression", "MemsightGoroutineLeak",
}

// findingKinds are the values of memsight_finding_active's kind label.
var findingKinds = []string{
	"finalizer_stall", "finalizer_backlog", "cleanup_stall", "rss_growth",
	"heap_growth", "goroutine_growth", "fd_growth", "gc_pause_regression", "goroutine_leak",
}

// Local types for the Prometheus Operator CRDs (monitoring.coreos.com/v1),
// with the fields the manifests use; strict decoding rejects any other.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		JobLabel          string               `json:"jobLabel"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port            string         `json:"port"`
			Path            string         `json:"path"`
			Interval        string         `json:"interval"`
			ScrapeTimeout   string         `json:"scrapeTimeout"`
			HonorLabels     bool           `json:"honorLabels"`
			Scheme          string         `json:"scheme"`
			BearerTokenFile string         `json:"bearerTokenFile"`
			TLSConfig       map[string]any `json:"tlsConfig"`
			BasicAuth       map[string]any `json:"basicAuth"`
			Relabelings     []struct {
				SourceLabels []string `json:"sourceLabels"`
				TargetLabel  string   `json:"targetLabel"`
				Action       string   `json:"action"`
				Regex        string   `json:"regex"`
				Replacement  string   `json:"replacement"`
			} `json:"relabelings"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type ruleSpec struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Record      string            `json:"record"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            ruleSpec          `json:"spec"`
}

type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Namespace       string   `json:"namespace"`
	Resources       []string `json:"resources"`
	Images          []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// configPath is where the DaemonSet mounts the ConfigMap's config.yaml.
const configPath = "/etc/memsight/config.yaml"

// checkConfigArgs: config.yaml is a valid agent config (decoded strictly
// and validated by pkg/config, as the agent does), the DaemonSet reads it
// with --config, and passes no flag that config.yaml could set (a flag
// overrides the file and would pin its value across reloads). Every flag
// is one memsight agent has.
func checkConfigArgs(t *testing.T, file string, args []string) {
	t.Helper()
	f, err := config.Parse([]byte(file))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if _, err := config.Resolve(f, ""); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	var src strings.Builder
	srcs, _ := filepath.Glob("../cmd/memsight/*.go")
	for _, f := range srcs {
		if !strings.HasSuffix(f, "_test.go") {
			src.Write(readFile(t, f))
		}
	}
	allowed := map[string]bool{"config": true, "path.procfs": true, "log-level": true, "log-format": true}
	if len(args) == 0 || args[0] != "agent" {
		t.Fatalf("args %v: want the agent subcommand first", args)
	}
	sawConfig := false
	for _, a := range args[1:] {
		name, val, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			t.Errorf("arg %q: want --flag=value", a)
			continue
		}
		if !strings.Contains(src.String(), `"`+name+`"`) {
			t.Errorf("arg %q: memsight agent has no flag --%s", a, name)
		}
		if !allowed[name] {
			t.Errorf("arg %q: set it in config.yaml, where it can be reloaded", a)
		}
		if name == "config" {
			sawConfig = val == configPath
		}
	}
	if !sawConfig {
		t.Errorf("args %v: no --config=%s", args, configPath)
	}
}

// objects are the decoded manifests of one rendering (kustomize or Helm).
type objects struct {
	namespaces      []*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap // the agent's config.yaml
	dashboards      []*corev1.ConfigMap // Grafana dashboards
	secrets         []*corev1.Secret
	pods            []*corev1.Pod // helm test
	services        []*corev1.Service
	daemonSets      []*appsv1.DaemonSet
	clusterRoles    []*rbacv1.ClusterRole
	bindings        []*rbacv1.ClusterRoleBinding
	serviceMonitors []*serviceMonitor
	rules           []*prometheusRule
}

func strict(t *testing.T, name string, doc []byte, dst any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, dst); err != nil {
		t.Fatalf("%s: strict decoding: %v", name, err)
	}
}

// decode decodes one YAML document strictly into the type of its kind.
func (o *objects) decode(t *testing.T, name string, doc []byte) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		o.namespaces = append(o.namespaces, decodeAs[corev1.Namespace](t, name, doc))
	case "v1 ServiceAccount":
		o.serviceAccounts = append(o.serviceAccounts, decodeAs[corev1.ServiceAccount](t, name, doc))
	case "v1 ConfigMap":
		cm := decodeAs[corev1.ConfigMap](t, name, doc)
		if _, ok := cm.Data["config.yaml"]; ok || len(cm.Data) == 0 {
			o.configMaps = append(o.configMaps, cm)
		} else {
			o.dashboards = append(o.dashboards, cm)
		}
	case "v1 Secret":
		o.secrets = append(o.secrets, decodeAs[corev1.Secret](t, name, doc))
	case "v1 Pod":
		o.pods = append(o.pods, decodeAs[corev1.Pod](t, name, doc))
	case "v1 Service":
		o.services = append(o.services, decodeAs[corev1.Service](t, name, doc))
	case "apps/v1 DaemonSet":
		o.daemonSets = append(o.daemonSets, decodeAs[appsv1.DaemonSet](t, name, doc))
	case "rbac.authorization.k8s.io/v1 ClusterRole":
		o.clusterRoles = append(o.clusterRoles, decodeAs[rbacv1.ClusterRole](t, name, doc))
	case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
		o.bindings = append(o.bindings, decodeAs[rbacv1.ClusterRoleBinding](t, name, doc))
	case "monitoring.coreos.com/v1 ServiceMonitor":
		o.serviceMonitors = append(o.serviceMonitors, decodeAs[serviceMonitor](t, name, doc))
	case "monitoring.coreos.com/v1 PrometheusRule":
		o.rules = append(o.rules, decodeAs[prometheusRule](t, name, doc))
	default:
		t.Fatalf("%s: unexpected %s %s", name, tm.APIVersion, tm.Kind)
	}
}

func decodeAs[T any](t *testing.T, name string, doc []byte) *T {
	t.Helper()
	v := new(T)
	strict(t, name, doc, v)
	return v
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKustomizeBase(t *testing.T) {
	var k kustomization
	strict(t, "kustomization.yaml", readFile(t, filepath.Join(kustomizeDir, "kustomization.yaml")), &k)
	if k.Kind != "Kustomization" || k.Namespace != "memsight" {
		t.Errorf("kustomization.yaml: kind %q namespace %q", k.Kind, k.Namespace)
	}
	files, err := filepath.Glob(filepath.Join(kustomizeDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			listed = append(listed, base)
		}
	}
	if got := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(got, listed) {
		t.Errorf("kustomization.yaml resources %v, files %v: every manifest must be listed once", got, listed)
	}
	var o objects
	for _, r := range k.Resources {
		doc := readFile(t, filepath.Join(kustomizeDir, r))
		if bytes.Contains(doc, []byte("\n---")) {
			t.Fatalf("%s: one object per file", r)
		}
		o.decode(t, r, doc)
	}
	if len(o.namespaces) != 1 || o.namespaces[0].Name != "memsight" {
		t.Errorf("want one Namespace memsight")
	}
	o.check(t, "memsight", true)
}

// check asserts what the docs promise of one rendering. namespaced: the
// objects must name namespace ns.
func (o *objects) check(t *testing.T, ns string, wantMonitoring bool) {
	t.Helper()
	if len(o.daemonSets) != 1 || len(o.serviceAccounts) != 1 || len(o.clusterRoles) != 1 ||
		len(o.bindings) != 1 || len(o.configMaps) != 1 || len(o.services) != 1 {
		t.Fatalf("want one each of DaemonSet, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, Service; got %d %d %d %d %d %d",
			len(o.daemonSets), len(o.serviceAccounts), len(o.clusterRoles), len(o.bindings), len(o.configMaps), len(o.services))
	}
	if n := len(o.serviceMonitors) + len(o.rules); wantMonitoring && (len(o.serviceMonitors) != 1 || len(o.rules) != 1) || !wantMonitoring && n != 0 {
		t.Errorf("ServiceMonitors %d, PrometheusRules %d (monitoring objects wanted: %v)", len(o.serviceMonitors), len(o.rules), wantMonitoring)
	}
	ds, sa, cm, svc := o.daemonSets[0], o.serviceAccounts[0], o.configMaps[0], o.services[0]
	for _, m := range []metav1.ObjectMeta{ds.ObjectMeta, sa.ObjectMeta, cm.ObjectMeta, svc.ObjectMeta} {
		if m.Namespace != ns {
			t.Errorf("%s: namespace %q, want %q", m.Name, m.Namespace, ns)
		}
	}
	checkDaemonSet(t, ds, sa.Name, cm.Name)
	checkClusterRole(t, o.clusterRoles[0])

	b := o.bindings[0]
	if b.RoleRef != (rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: o.clusterRoles[0].Name}) {
		t.Errorf("ClusterRoleBinding roleRef %+v", b.RoleRef)
	}
	if len(b.Subjects) != 1 || b.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: ns}) {
		t.Errorf("ClusterRoleBinding subjects %+v, want the ServiceAccount %s/%s only", b.Subjects, ns, sa.Name)
	}
	if _, ok := cm.Data["config.yaml"]; !ok {
		t.Errorf("ConfigMap has no config.yaml")
	} else {
		checkConfigArgs(t, cm.Data["config.yaml"], ds.Spec.Template.Spec.Containers[0].Args)
	}

	tpl := ds.Spec.Template
	for k, v := range svc.Spec.Selector {
		if tpl.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the DaemonSet's pods", k, v)
		}
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].TargetPort.StrVal != "metrics" {
		t.Errorf("Service ports %+v: want one port named metrics targeting the container port metrics", svc.Spec.Ports)
	}
	if !wantMonitoring {
		return
	}
	sm := o.serviceMonitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labelSet(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service (labels %v)", sel, svc.Labels)
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{ns}) {
		t.Errorf("ServiceMonitor namespaceSelector %v", sm.Spec.NamespaceSelector.MatchNames)
	}
	// job="memsight" (MemsightAgentDown) comes from the Service's label named by jobLabel.
	if svc.Labels[sm.Spec.JobLabel] != "memsight" {
		t.Errorf("ServiceMonitor jobLabel %q: the Service's value is %q, want memsight (MemsightAgentDown uses job=\"memsight\")", sm.Spec.JobLabel, svc.Labels[sm.Spec.JobLabel])
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	checkRules(t, &o.rules[0].Spec)
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func checkDaemonSet(t *testing.T, ds *appsv1.DaemonSet, saName, cmName string) {
	t.Helper()
	spec := ds.Spec.Template.Spec
	if !spec.HostPID {
		t.Error("hostPID must be true: the agent reads the host's /proc and probes host PIDs")
	}
	if spec.HostNetwork || spec.HostIPC {
		t.Error("hostNetwork and hostIPC are not needed")
	}
	if spec.ServiceAccountName != saName {
		t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, saName)
	}
	if s := spec.SecurityContext; s == nil || s.SeccompProfile == nil || s.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile must be RuntimeDefault")
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0] != (corev1.Toleration{Operator: corev1.TolerationOpExists}) {
		t.Errorf("tolerations %+v: want one {operator: Exists} (every taint)", spec.Tolerations)
	}
	if u := ds.Spec.UpdateStrategy; u.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		t.Errorf("updateStrategy %q, want RollingUpdate", u.Type)
	}
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || !sel.Matches(labelSet(ds.Spec.Template.Labels)) {
		t.Errorf("DaemonSet selector does not match its pod template (%v)", err)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s: hostPath %s: no host path is needed (docs/security.md)", v.Name, v.HostPath.Path)
		}
	}
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		t.Fatalf("want one container")
	}
	c := spec.Containers[0]
	if len(c.Command) != 0 || len(c.Args) == 0 || c.Args[0] != "agent" {
		t.Errorf("args %v: want the image's entrypoint with args [agent ...]", c.Args)
	}
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged {
		t.Fatal("container must set privileged: false")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("capabilities must drop ALL")
	} else if got := slices.Sorted(slices.Values(sc.Capabilities.Add)); !slices.Equal(got, slices.Sorted(slices.Values(wantCaps))) {
		t.Errorf("capabilities.add %v, want exactly %v", sc.Capabilities.Add, wantCaps)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["NODE_NAME"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Error("NODE_NAME must come from spec.nodeName")
	}
	if e := env["GOMEMLIMIT"]; e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil ||
		e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" || e.ValueFrom.ResourceFieldRef.ContainerName != c.Name {
		t.Error("GOMEMLIMIT must come from this container's limits.memory")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Error("resources: want memory request and limit and a CPU request")
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != 9464 {
		t.Errorf("ports %+v: want metrics 9464", c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.StrVal != "metrics" {
			t.Errorf("probe on %s missing or wrong: %+v", name, p)
		}
	}
	var cfgMounted bool
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil && v.ConfigMap.Name == cmName && m.MountPath == "/etc/memsight" && m.ReadOnly {
				cfgMounted = true
			}
		}
	}
	if !cfgMounted {
		t.Errorf("ConfigMap %s must be mounted read-only at /etc/memsight", cmName)
	}
}

func checkClusterRole(t *testing.T, cr *rbacv1.ClusterRole) {
	t.Helper()
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
	}
	if cr.AggregationRule != nil {
		t.Error("ClusterRole must not aggregate")
	}
	if fmt.Sprint(cr.Rules) != fmt.Sprint(want) {
		t.Errorf("ClusterRole rules\n got %+v\nwant %+v (pods get/list/watch, events create, nothing else)", cr.Rules, want)
	}
}

// documentedMetrics lists the metric names docs/metrics.md documents.
func documentedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := map[string]bool{"up": true} // Prometheus's own, for MemsightAgentDown
	for _, s := range regexp.MustCompile("`(memsight_[a-z0-9_]+)").FindAllStringSubmatch(string(readFile(t, metricsDoc)), -1) {
		m[s[1]] = true
	}
	if len(m) < 10 {
		t.Fatalf("docs/metrics.md: found only %d metric names", len(m))
	}
	return m
}

// checkExpr parses a PromQL expression and checks that it uses only
// documented metrics and known finding kinds.
func checkExpr(t *testing.T, where, expr string, metrics map[string]bool) {
	t.Helper()
	e, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(vs.Name, "_bucket"), "_sum"), "_count")
		if vs.Name == "" || !metrics[vs.Name] && !metrics[base] {
			t.Errorf("%s: %q: metric %q is not in docs/metrics.md", where, expr, vs.Name)
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != "kind" || vs.Name != "memsight_finding_active" {
				continue
			}
			for _, k := range strings.Split(m.Value, "|") {
				if !slices.Contains(findingKinds, k) {
					t.Errorf("%s: %q: unknown finding kind %q", where, expr, k)
				}
			}
		}
		return nil
	})
}

// promql parses PromQL with the default options.
var promql = parser.NewParser(parser.Options{})

// promTemplateFuncs stubs Prometheus's alert template functions, enough to
// parse annotations.
var promTemplateFuncs = template.FuncMap{
	"query": func(string) ([]any, error) { return nil, nil }, "first": func(v any) any { return v },
	"value": func(any) float64 { return 0 }, "label": func(string, any) string { return "" },
	"humanize": func(any) string { return "" }, "humanize1024": func(any) string { return "" }, "humanizeDuration": func(any) string { return "" },
	"reReplaceAll": func(string, string, string) string { return "" }, "title": strings.ToTitle,
}

func checkRules(t *testing.T, spec *ruleSpec) {
	t.Helper()
	metrics := documentedMetrics(t)
	var alerts []string
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule %q is not an alert", g.Name, r.Record)
				continue
			}
			alerts = append(alerts, r.Alert)
			checkExpr(t, r.Alert, r.Expr, metrics)
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" {
				t.Errorf("%s: severity %q", r.Alert, sev)
			}
			if r.For == "" {
				t.Errorf("%s: no for:", r.Alert)
			}
			want := "https://github.com/memsight/memsight/blob/main/docs/runbooks/" + r.Alert + ".md"
			if r.Annotations["runbook_url"] != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, r.Annotations["runbook_url"], want)
			}
			if _, err := os.Stat(filepath.Join(runbookDir, r.Alert+".md")); err != nil {
				t.Errorf("%s: no runbook: %v", r.Alert, err)
			}
			for _, a := range []string{"summary", "description"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s", r.Alert, a)
				}
			}
			for k, a := range r.Annotations {
				// The header Prometheus prepends to every alert template.
				const hdr = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}"
				tp, err := template.New(k).Funcs(promTemplateFuncs).Option("missingkey=zero").Parse(hdr + a)
				if err == nil {
					err = tp.Execute(io.Discard, map[string]any{
						"Labels": map[string]string{"pid": "1", "node": "n"}, "ExternalLabels": map[string]string{}, "Value": 1.0,
					})
				}
				if err != nil {
					t.Errorf("%s: annotation %s: %v", r.Alert, k, err)
				}
			}
		}
	}
	if got := slices.Sorted(slices.Values(alerts)); !slices.Equal(got, slices.Sorted(slices.Values(wantAlerts))) {
		t.Errorf("alerts %v, want %v", got, wantAlerts)
	}
}

func TestRunbooks(t *testing.T) {
	for _, a := range wantAlerts {
		b := string(readFile(t, filepath.Join(runbookDir, a+".md")))
		if !strings.HasPrefix(b, "# "+a) {
			t.Errorf("runbook %s: must start with '# %s'", a, a)
		}
		for _, s := range []string{"## Meaning", "## Confirm", "## Fix"} {
			if !strings.Contains(b, s) {
				t.Errorf("runbook %s: no %q section", a, s)
			}
		}
		if slices.Contains(findingAlerts, a) && !strings.Contains(b, "memsight attach") {
			t.Errorf("runbook %s: does not show memsight attach", a)
		}
	}
}

func TestDashboard(t *testing.T) {
	var d struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Annotations struct {
			List []struct {
				Name string `json:"name"`
				Expr string `json:"expr"`
			} `json:"list"`
		} `json:"annotations"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(readFile(t, dashboard), &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs a uid and a title")
	}
	metrics := documentedMetrics(t)
	used := map[string]bool{}
	// Grafana's variables, replaced by something PromQL parses.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")
	check := func(where, expr string) {
		expr = vars.Replace(expr)
		checkExpr(t, where, expr, metrics)
		if !strings.Contains(expr, `cluster=~"$cluster"`) {
			t.Errorf("%s: %q does not select the $cluster variable", where, expr)
		}
		if e, err := promql.ParseExpr(expr); err == nil {
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					used[vs.Name] = true
				}
				return nil
			})
		}
	}
	for _, p := range d.Panels {
		if p.Type == "row" || p.Type == "text" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
	var varNames []string
	for _, v := range d.Templating.List {
		varNames = append(varNames, v.Name)
		if q, ok := v.Query.(map[string]any); ok {
			lv := regexp.MustCompile(`^label_values\((.*), \w+\)$`).FindStringSubmatch(fmt.Sprint(q["query"]))
			if lv == nil {
				t.Errorf("variable %s: query %v is not label_values(SELECTOR, LABEL)", v.Name, q["query"])
			} else if v.Name != "cluster" {
				check("variable "+v.Name, lv[1])
			}
		}
	}
	if !slices.Contains(varNames, "cluster") {
		t.Errorf("variables %v: no cluster", varNames)
	}
	findings := false
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			check("annotation "+a.Name, a.Expr)
			findings = findings || strings.Contains(a.Expr, "memsight_finding_")
		}
	}
	if !findings {
		t.Error("no annotation shows the findings")
	}
	for _, m := range []string{
		"memsight_process_rss_bytes", "memsight_go_heap_inuse_bytes", "memsight_finalizer_queue_length",
		"memsight_finalizer_running_seconds", "memsight_gc_cycles_total", "memsight_goroutines", "memsight_finding_active",
		"memsight_gc_stw_pause_seconds_bucket", "memsight_process_open_fds", "memsight_go_heap_goal_bytes", "memsight_go_memory_limit_bytes",
	} {
		if !used[m] {
			t.Errorf("dashboard does not show %s", m)
		}
	}
	if !bytes.Contains(readFile(t, dashboard), []byte("histogram_quantile(0.99, sum by (le, namespace, pod) (rate(memsight_gc_stw_pause_seconds_bucket{")) {
		t.Error("no GC pause p99 from the memsight_gc_stw_pause_seconds buckets")
	}
	if !bytes.Equal(readFile(t, dashboard), readFile(t, filepath.Join(chartDir, "files/dashboard.json"))) {
		t.Errorf("%s/files/dashboard.json differs from %s: copy it", chartDir, dashboard)
	}
}
