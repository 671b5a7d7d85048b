package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/memsight/memsight/pkg/config"
)

// chartFiles implements Helm's .Files.Get.
type chartFiles map[string]string

func (f chartFiles) Get(name string) string { return f[name] }

// renderChart renders the chart's templates with Go's text/template and the
// few Helm functions the templates use, with Helm's semantics (missing keys
// render empty; toYaml drops the final newline). It keeps the test free of
// Helm; TestHelmTemplate compares it with `helm template`. overrides
// replace top-level values.
func renderChart(t *testing.T, ns string, overrides map[string]any) []byte {
	t.Helper()
	var chart map[string]any
	strict(t, "Chart.yaml", readFile(t, filepath.Join(chartDir, "Chart.yaml")), &chart)
	var values map[string]any
	strict(t, "values.yaml", readFile(t, filepath.Join(chartDir, "values.yaml")), &values)
	for k, v := range overrides {
		values[k] = v
	}
	files := chartFiles{}
	fpaths, _ := filepath.Glob(filepath.Join(chartDir, "files", "*"))
	for _, p := range fpaths {
		files["files/"+filepath.Base(p)] = string(readFile(t, p))
	}
	data := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": "memsight", "Namespace": ns, "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
		"Files":   files,
	}
	root := template.New("chart").Option("missingkey=zero")
	root.Funcs(template.FuncMap{
		"include": func(name string, d any) (string, error) {
			var b strings.Builder
			err := root.ExecuteTemplate(&b, name, d)
			return b.String(), err
		},
		"toYaml": func(v any) (string, error) {
			b, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote": func(v any) string {
			return `"` + strings.ReplaceAll(strings.ReplaceAll(toString(v), `\`, `\\`), `"`, `\"`) + `"`
		},
		"default": func(d any, v ...any) any {
			if len(v) == 0 || isEmpty(v[0]) {
				return d
			}
			return v[0]
		},
		"has": func(needle any, list []any) bool { return slices.Contains(list, needle) },
		"int": func(v any) int {
			switch n := v.(type) {
			case float64:
				return int(n)
			case int:
				return n
			}
			t.Errorf("int: %T", v)
			return 0
		},
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
	})
	tpls, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil || len(tpls) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, p := range tpls {
		if _, err := root.New("memsight/templates/" + filepath.Base(p)).Parse(string(readFile(t, p))); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	var out bytes.Buffer
	slices.Sort(tpls)
	for _, p := range tpls {
		if strings.HasPrefix(filepath.Base(p), "_") {
			continue
		}
		var b bytes.Buffer
		if err := root.ExecuteTemplate(&b, "memsight/templates/"+filepath.Base(p), data); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// Helm trims each rendered template.
		out.WriteString("---\n")
		out.Write(bytes.TrimSpace(bytes.ReplaceAll(b.Bytes(), []byte("<no value>"), nil)))
		out.WriteString("\n")
	}
	return out.Bytes()
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return strings.TrimSuffix(string(b), "\n")
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	}
	return rv.IsZero()
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
		"nodeSelector": map[string]any{"pool": "go"},
		"tolerations":  []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "go", "effect": "NoSchedule"}},
		"config": map[string]any{"listen": ":9464", "interval": "2s",
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
	f, err := config.Parse([]byte(o.configMaps[0].Data["config.yaml"]))
	if err != nil {
		t.Fatalf("rendered config.yaml: %v", err)
	}
	st, err := config.Resolve(f, "")
	if err != nil {
		t.Fatalf("rendered config.yaml: %v", err)
	}
	if st.Interval != 2*time.Second || st.MaxProcesses != 64 || st.MinProcessAge != 5*time.Second ||
		st.ExcludeComm == nil || st.ExcludeComm.String() != "^(kubelet|containerd)$" || st.IncludeComm != nil ||
		st.Detect.StallThreshold != 5*time.Second {
		t.Errorf("rendered config resolves to %+v", st)
	}
}

// TestChartMatchesBase: with default values the chart renders the kustomize
// base's DaemonSet pod spec and RBAC (less labels and annotations).
func TestChartMatchesBase(t *testing.T) {
	chart := decodeStream(t, "chart", renderChart(t, "memsight", nil))
	var base objects
	for _, f := range []string{"daemonset.yaml", "clusterrole.yaml"} {
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
}

// requireHelm returns the helm binary on PATH. Without one the test fails
// (make test installs it: .ci/setup) unless MEMSIGHT_SKIP_HELM=1 asks to skip, like
// MEMSIGHT_SKIP_BPF for the BPF tests.
func requireHelm(t *testing.T) string {
	t.Helper()
	helm, err := exec.LookPath("helm")
	if err == nil {
		return helm
	}
	if os.Getenv("MEMSIGHT_SKIP_HELM") == "1" {
		t.Skip("MEMSIGHT_SKIP_HELM=1: helm template test skipped on request")
	}
	t.Fatalf("helm is not on PATH (%v): install it with `go install helm.sh/helm/v3/cmd/helm@v3.22.0` (make test does: .ci/setup), or set MEMSIGHT_SKIP_HELM=1 to skip", err)
	return ""
}

// chartValue returns the chart's default value of the top-level key with
// the given fields replaced, for renderChart's overrides.
func chartValue(t *testing.T, key string, fields map[string]any) map[string]any {
	t.Helper()
	var values map[string]any
	strict(t, "values.yaml", readFile(t, filepath.Join(chartDir, "values.yaml")), &values)
	def, ok := values[key].(map[string]any)
	if !ok {
		t.Fatalf("values.yaml: %s is not a map", key)
	}
	out := maps.Clone(def)
	maps.Copy(out, fields)
	return out
}

// TestHelmTemplate renders the chart with the helm binary, with default
// values and with each toggle, decodes every object strictly into the
// Kubernetes API types (or the local CRD types), checks what the docs
// promise, and checks that it renders what renderChart does.
func TestHelmTemplate(t *testing.T) {
	helm := requireHelm(t)
	off := map[string]any{"enabled": false}
	for _, tc := range []struct {
		name      string
		set       []string
		overrides map[string]any
		check     func(t *testing.T, o *objects)
	}{
		{"defaults", nil, nil, func(t *testing.T, o *objects) { o.check(t, "memsight", true) }},
		{"privileged", []string{"privileged=true"}, map[string]any{"privileged": true}, func(t *testing.T, o *objects) {
			sc := o.daemonSets[0].Spec.Template.Spec.Containers[0].SecurityContext
			if sc.Privileged == nil || !*sc.Privileged || sc.Capabilities != nil || sc.AllowPrivilegeEscalation != nil {
				t.Errorf("securityContext %+v: want privileged, no capabilities, allowPrivilegeEscalation unset", sc)
			}
		}},
		{"SYS_ADMIN", []string{"extraCapabilities={SYS_ADMIN}"}, map[string]any{"extraCapabilities": []any{"SYS_ADMIN"}}, func(t *testing.T, o *objects) {
			sc := o.daemonSets[0].Spec.Template.Spec.Containers[0].SecurityContext
			if want := append(slices.Clone(wantCaps), "SYS_ADMIN"); !slices.Equal(sc.Capabilities.Add, want) || sc.AllowPrivilegeEscalation != nil {
				t.Errorf("capabilities add %v, want %v and allowPrivilegeEscalation unset", sc.Capabilities.Add, want)
			}
		}},
		{"no ServiceMonitor", []string{"serviceMonitor.enabled=false"},
			map[string]any{"serviceMonitor": chartValue(t, "serviceMonitor", off)}, func(t *testing.T, o *objects) {
				if len(o.serviceMonitors) != 0 || len(o.rules) != 1 {
					t.Errorf("%d ServiceMonitors, %d PrometheusRules; want 0 and 1", len(o.serviceMonitors), len(o.rules))
				}
			}},
		{"no PrometheusRule", []string{"prometheusRule.enabled=false"},
			map[string]any{"prometheusRule": chartValue(t, "prometheusRule", off)}, func(t *testing.T, o *objects) {
				if len(o.serviceMonitors) != 1 || len(o.rules) != 0 {
					t.Errorf("%d ServiceMonitors, %d PrometheusRules; want 1 and 0", len(o.serviceMonitors), len(o.rules))
				}
			}},
		{"no monitoring", []string{"serviceMonitor.enabled=false", "prometheusRule.enabled=false"},
			map[string]any{"serviceMonitor": chartValue(t, "serviceMonitor", off), "prometheusRule": chartValue(t, "prometheusRule", off)},
			func(t *testing.T, o *objects) { o.check(t, "memsight", false) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", "memsight", chartDir, "--namespace", "memsight"}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			cmd := exec.Command(helm, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
			}
			got := decodeStream(t, "helm template "+tc.name, out)
			if len(got.daemonSets) != 1 {
				t.Fatalf("helm template %s: %d DaemonSets, want 1", tc.name, len(got.daemonSets))
			}
			tc.check(t, got)
			want := decodeStream(t, "renderChart "+tc.name, renderChart(t, "memsight", tc.overrides))
			g, w := got.byKind(), want.byKind()
			for kind := range g {
				if !reflect.DeepEqual(g[kind], w[kind]) {
					gy, _ := json.MarshalIndent(g[kind], "", " ")
					wy, _ := json.MarshalIndent(w[kind], "", " ")
					t.Errorf("helm template %s: %s differ from renderChart's:\nhelm:\n%s\nrenderChart:\n%s", tc.name, kind, gy, wy)
				}
			}
		})
	}
}

func (o *objects) byKind() map[string]any {
	return map[string]any{
		"Namespaces": o.namespaces, "ServiceAccounts": o.serviceAccounts, "ConfigMaps": o.configMaps,
		"Services": o.services, "DaemonSets": o.daemonSets, "ClusterRoles": o.clusterRoles,
		"ClusterRoleBindings": o.bindings, "ServiceMonitors": o.serviceMonitors, "PrometheusRules": o.rules,
	}
}
