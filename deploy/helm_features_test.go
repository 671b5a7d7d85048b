package deploy_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/memsight/memsight/pkg/config"
)

// TestHelmLint: helm lint --strict passes with the default values and with
// every optional part turned on.
func TestHelmLint(t *testing.T) {
	helm := requireHelm(t)
	for _, args := range [][]string{
		nil,
		{"--set", "webhook.enabled=true,webhook.url=https://hooks.example.com/x,webhook.secret=s", "--set", "webConfig.enabled=true",
			"--set-json", `webConfig.config={"basic_auth_users":{"prometheus":"$2y$10$x"}}`},
		{"--set", "kubeRbacProxy.enabled=true,rollOnConfigChange=true"},
	} {
		out, err := exec.Command(helm, append([]string{"lint", "--strict", chartDir}, args...)...).CombinedOutput()
		if err != nil || regexp.MustCompile(`\[(WARNING|ERROR)\]`).Match(out) {
			t.Errorf("helm lint --strict %v: %v\n%s", args, err, out)
		}
	}
}

// TestHelmSchema: values.schema.json rejects what the chart cannot use,
// and helm says which value.
func TestHelmSchema(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"port=abc", "/port"},
		{"port=70000", "/port"},
		{"logLevel=verbose", "/logLevel"},
		{"config.webhook.url=https://hooks.example.com/T0K3N", "url"}, // the URL belongs in a Secret
		{"config.webhook.secret=s3cret", "secret"},                    // the HMAC key too
		{"config.listen=:1", "listen"},                                // set by the chart
		{"config.thresholds.stall_threshold=soon", "stall_threshold"}, // not a duration
		{"config.thresholds.growth_min_r2=2", "growth_min_r2"},        // out of range
		{"config.excludes.max_processes=-1", "max_processes"},         // negative
		{"prometheusRule.rules.MemsightAgentSampleErrors.severity=page", "severity"},
		{"prometheusRule.rules.MemsightAgentSampleErrors.threshold=-1", "threshold"},
		{"imagePullSecrets[0].nam=x", "imagePullSecrets"},
		{"nonsense=1", "nonsense"},
	} {
		_, err := helmTemplate(t, "memsight", "--set", c.set)
		var he *helmError
		if !errors.As(err, &he) || !strings.Contains(he.stderr, c.want) {
			t.Errorf("--set %s: %v; want helm to reject it naming %q", c.set, err, c.want)
		}
	}
}

// TestChartSchemaMatchesConfig: the schema's config keys are pkg/config's
// file keys, less those the chart sets (listen, web_config_file,
// health_listen) and the webhook's URL and secret (from a Secret).
func TestChartSchemaMatchesConfig(t *testing.T) {
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]struct {
					Properties map[string]any `json:"properties"`
				} `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(chartDir, "values.schema.json")), &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(v any, drop ...string) []string {
		var out []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			if k := rt.Field(i).Tag.Get("yaml"); !slices.Contains(drop, k) {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	sorted := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	cfg := schema.Properties.Config.Properties
	top := map[string]any{}
	for k := range cfg {
		top[k] = nil
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"config", sorted(top), keys(config.File{}, "listen", "web_config_file", "health_listen")},
		{"config.excludes", sorted(cfg["excludes"].Properties), keys(config.Excludes{})},
		{"config.thresholds", sorted(cfg["thresholds"].Properties), keys(config.Thresholds{})},
		{"config.webhook", sorted(cfg["webhook"].Properties), keys(config.WebhookFile{}, "url", "url_file", "secret", "secret_file")},
		{"config.kubernetes", sorted(cfg["kubernetes"].Properties), keys(config.KubeFile{})},
		{"config.profiles", sorted(cfg["profiles"].Properties), keys(config.ProfilesFile{})},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("values.schema.json %s: keys %v, pkg/config has %v", c.name, c.got, c.want)
		}
	}
}

// TestHelmMonitoringCapabilities: the ServiceMonitor and PrometheusRule are
// rendered only on a cluster serving monitoring.coreos.com/v1, so the chart
// installs without the Prometheus Operator.
func TestHelmMonitoringCapabilities(t *testing.T) {
	for _, c := range []struct {
		name        string
		apis        []string
		sm, rules   int
		wantCompare bool
	}{
		{"no operator", nil, 0, 0, false},
		{"monitoring.coreos.com/v1", []string{"monitoring.coreos.com/v1"}, 1, 1, true},
		{"only the ServiceMonitor kind", []string{"monitoring.coreos.com/v1/ServiceMonitor"}, 1, 0, false},
	} {
		var args []string
		for _, a := range c.apis {
			args = append(args, "--api-versions", a)
		}
		out, err := helmTemplate(t, "memsight", args...)
		if err != nil {
			t.Fatal(err)
		}
		o := decodeStream(t, c.name, out)
		if len(o.serviceMonitors) != c.sm || len(o.rules) != c.rules {
			t.Errorf("%s: %d ServiceMonitors, %d PrometheusRules; want %d and %d", c.name, len(o.serviceMonitors), len(o.rules), c.sm, c.rules)
		}
		if c.sm == 0 && c.rules == 0 {
			o.check(t, "memsight", false)
		}
	}
}

// TestHelmConfigChangeKeepsPods: a config change does not change the pod
// template (the agent reloads the file itself), unless rollOnConfigChange.
func TestHelmConfigChangeKeepsPods(t *testing.T) {
	podTemplate := func(values map[string]any) string {
		o := decodeStream(t, "chart", renderChart(t, "memsight", values))
		b, _ := json.Marshal(o.daemonSets[0].Spec.Template)
		return string(b)
	}
	changed := map[string]any{"config": map[string]any{"thresholds": map[string]any{"stall_threshold": "9s"}}}
	if a, b := podTemplate(nil), podTemplate(changed); a != b {
		t.Errorf("a config change changes the pod template (the pods would restart and lose the detectors' history):\n%s\n%s", a, b)
	}
	roll := map[string]any{"rollOnConfigChange": true}
	changed["rollOnConfigChange"] = true
	a, b := podTemplate(roll), podTemplate(changed)
	if a == b || !strings.Contains(a, "checksum/config") {
		t.Errorf("rollOnConfigChange: the pod template does not follow the config:\n%s", a)
	}
	if strings.Contains(podTemplate(nil), "checksum/") {
		t.Error("a checksum annotation by default")
	}
}

// TestHelmNames: fullnameOverride names every object; nameOverride changes
// app.kubernetes.io/name, hence the job label, which MemsightAgentDown
// follows.
func TestHelmNames(t *testing.T) {
	o := decodeStream(t, "fullnameOverride", renderChart(t, "memsight", map[string]any{"fullnameOverride": "ms"}))
	for _, n := range []string{o.daemonSets[0].Name, o.serviceAccounts[0].Name, o.services[0].Name, o.clusterRoles[0].Name, o.rules[0].Metadata.Name} {
		if n != "ms" {
			t.Errorf("fullnameOverride ms: object named %q", n)
		}
	}
	if o.configMaps[0].Name != "ms-config" || o.daemonSets[0].Spec.Template.Spec.ServiceAccountName != "ms" {
		t.Errorf("fullnameOverride ms: ConfigMap %q, serviceAccountName %q", o.configMaps[0].Name, o.daemonSets[0].Spec.Template.Spec.ServiceAccountName)
	}
	o = decodeStream(t, "nameOverride", renderChart(t, "prod", map[string]any{"nameOverride": "gomem"}))
	if o.daemonSets[0].Name != "memsight-gomem" || o.services[0].Labels["app.kubernetes.io/name"] != "gomem" {
		t.Errorf("nameOverride gomem: DaemonSet %q, Service labels %v", o.daemonSets[0].Name, o.services[0].Labels)
	}
	for _, g := range o.rules[0].Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "MemsightAgentDown" && r.Expr != `up{job="gomem"} == 0 or absent(up{job="gomem"})` {
				t.Errorf("nameOverride gomem: MemsightAgentDown expr %q", r.Expr)
			}
		}
	}
}

// TestHelmPodOptions: imagePullSecrets, affinity, priorityClassName, pod
// labels and annotations, extra env, volumes and mounts reach the pod.
func TestHelmPodOptions(t *testing.T) {
	affinity := map[string]any{"nodeAffinity": map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": "pool", "operator": "In", "values": []any{"go"}}}}}}}}
	o := decodeStream(t, "pod options", renderChart(t, "memsight", map[string]any{
		"imagePullSecrets":  []any{map[string]any{"name": "regcred"}},
		"affinity":          affinity,
		"priorityClassName": "system-node-critical",
		"podLabels":         map[string]any{"team": "sre"},
		"podAnnotations":    map[string]any{"a": "b"},
		"extraEnv":          []any{map[string]any{"name": "GODEBUG", "value": "madvdontneed=1"}},
		"extraVolumes":      []any{map[string]any{"name": "extra", "emptyDir": map[string]any{}}},
		"extraVolumeMounts": []any{map[string]any{"name": "extra", "mountPath": "/extra"}},
	}))
	spec := o.daemonSets[0].Spec.Template.Spec
	if len(spec.ImagePullSecrets) != 1 || spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("imagePullSecrets %v", spec.ImagePullSecrets)
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.PriorityClassName != "system-node-critical" {
		t.Errorf("affinity %+v priorityClassName %q", spec.Affinity, spec.PriorityClassName)
	}
	meta := o.daemonSets[0].Spec.Template.ObjectMeta
	if meta.Labels["team"] != "sre" || meta.Annotations["a"] != "b" {
		t.Errorf("pod labels %v annotations %v", meta.Labels, meta.Annotations)
	}
	c := container(t, o, "memsight")
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GODEBUG" && e.Value == "madvdontneed=1" }) {
		t.Errorf("env %v: no GODEBUG", c.Env)
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "extra" && m.MountPath == "/extra" }) ||
		!slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == "extra" && v.EmptyDir != nil }) {
		t.Errorf("extra volume not mounted: %v %v", c.VolumeMounts, spec.Volumes)
	}
	o.check(t, "memsight", true)
}

// volumeOf returns the pod's volume mounted at path in container c.
func volumeOf(t *testing.T, o *objects, c corev1.Container, path string) corev1.Volume {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			if !m.ReadOnly {
				t.Errorf("%s is mounted writable", path)
			}
			for _, v := range o.daemonSets[0].Spec.Template.Spec.Volumes {
				if v.Name == m.Name {
					return v
				}
			}
		}
	}
	t.Fatalf("nothing mounted at %s", path)
	return corev1.Volume{}
}

// TestHelmWebhookSecret: the webhook's URL and HMAC secret are in a
// Secret (created, or the user's), mounted and read with url_file and
// secret_file; config.yaml holds neither.
func TestHelmWebhookSecret(t *testing.T) {
	const url, secret = "https://hooks.example.com/T0K3N", "hm4c-s3cret"
	for _, c := range []struct {
		name       string
		webhook    map[string]any
		secretName string
		items      map[string]string // Secret key -> file
	}{
		{"created", map[string]any{"enabled": true, "url": url, "secret": secret, "format": "alertmanager"}, "memsight-webhook",
			map[string]string{"url": "url", "secret": "secret"}},
		{"created unsigned", map[string]any{"enabled": true, "url": url}, "memsight-webhook", map[string]string{"url": "url"}},
		{"existing", map[string]any{"enabled": true, "existingSecret": "hooks", "urlKey": "endpoint", "secretKey": "hmac"}, "hooks",
			map[string]string{"endpoint": "url", "hmac": "secret"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := decodeStream(t, c.name, renderChart(t, "memsight", map[string]any{"webhook": c.webhook}))
			cfg := o.configMaps[0].Data["config.yaml"]
			if strings.Contains(cfg, "T0K3N") || strings.Contains(cfg, secret) {
				t.Errorf("config.yaml holds the webhook's URL or secret:\n%s", cfg)
			}
			f, err := config.Parse([]byte(cfg))
			if err != nil {
				t.Fatal(err)
			}
			wantSecretFile := ""
			for _, p := range c.items {
				if p == "secret" {
					wantSecretFile = "/etc/memsight-webhook/secret"
				}
			}
			if f.Webhook.URLFile != "/etc/memsight-webhook/url" || f.Webhook.SecretFile != wantSecretFile || f.Webhook.URL != "" || f.Webhook.Secret != "" {
				t.Errorf("webhook section %+v", f.Webhook)
			}
			v := volumeOf(t, o, container(t, o, "memsight"), "/etc/memsight-webhook")
			if v.Secret == nil || v.Secret.SecretName != c.secretName {
				t.Fatalf("webhook volume %+v, want Secret %s", v, c.secretName)
			}
			items := map[string]string{}
			for _, it := range v.Secret.Items {
				items[it.Key] = it.Path
			}
			if !reflect.DeepEqual(items, c.items) {
				t.Errorf("Secret items %v, want %v", items, c.items)
			}
			if c.webhook["existingSecret"] != nil {
				if len(o.secrets) != 0 {
					t.Errorf("existingSecret: the chart created %d Secrets", len(o.secrets))
				}
				return
			}
			if len(o.secrets) != 1 || string(o.secrets[0].Data["url"]) != url || o.secrets[0].Name != c.secretName {
				t.Fatalf("created Secrets %+v", o.secrets)
			}
			if got := string(o.secrets[0].Data["secret"]); c.webhook["secret"] != nil && got != secret {
				t.Errorf("Secret's secret %q", got)
			}
			// Resolved as the agent does, with the Secret's files where the pod has them.
			dir := t.TempDir()
			for k, p := range c.items {
				if err := os.WriteFile(filepath.Join(dir, p), o.secrets[0].Data[k], 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f.Webhook.URLFile = filepath.Join(dir, "url")
			if f.Webhook.SecretFile != "" {
				f.Webhook.SecretFile = filepath.Join(dir, "secret")
			}
			s, err := config.Resolve(f, "")
			if err != nil || s.Webhook.URL != url || (f.Webhook.SecretFile != "") != (string(s.Webhook.Secret) == secret) {
				t.Errorf("resolved webhook %+v, %v", s.Webhook, err)
			}
		})
	}
	if _, err := helmTemplate(t, "memsight", "--set", "webhook.enabled=true"); err == nil || !strings.Contains(err.Error(), "webhook.url") {
		t.Errorf("webhook.enabled without a URL or Secret: %v, want an error naming webhook.url", err)
	}
}

// checkProtected: the probes and the helm test use the unprotected health
// port, which the Service exposes; config.yaml sets health_listen.
func checkProtected(t *testing.T, o *objects) config.Settings {
	t.Helper()
	c := container(t, o, "memsight")
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "health" && p.ContainerPort == 9465 }) {
		t.Errorf("agent ports %+v: no health 9465", c.Ports)
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if p.HTTPGet.Port.StrVal != "health" || p.HTTPGet.Scheme != "" {
			t.Errorf("probe %+v: want HTTP on port health", p.HTTPGet)
		}
	}
	if !slices.ContainsFunc(o.services[0].Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "health" && p.Port == 9465 }) {
		t.Errorf("Service ports %+v: no health", o.services[0].Spec.Ports)
	}
	if len(o.pods) != 1 || !slices.Contains(o.pods[0].Spec.Containers[0].Args, "http://memsight.memsight.svc:9465/readyz") {
		t.Errorf("helm test pod does not curl the health port: %+v", o.pods)
	}
	st := resolvedConfig(t, o)
	if st.HealthListen != ":9465" {
		t.Errorf("health_listen %q", st.HealthListen)
	}
	return st
}

// TestHelmWebConfig: webConfig mounts the web configuration file (a
// created or existing Secret) and its TLS Secret, passes web_config_file,
// and the ServiceMonitor scrapes with the scheme, TLS and basic auth given.
func TestHelmWebConfig(t *testing.T) {
	web := map[string]any{"tls_server_config": map[string]any{"cert_file": "/etc/memsight-tls/tls.crt", "key_file": "/etc/memsight-tls/tls.key"},
		"basic_auth_users": map[string]any{"prometheus": "$2y$10$abcdefghijklmnopqrstuv"}}
	o := decodeStream(t, "webConfig", renderChart(t, "memsight", map[string]any{
		"webConfig": map[string]any{"enabled": true, "config": web, "tlsSecret": "memsight-tls"},
		"serviceMonitor": map[string]any{"scheme": "https", "tlsConfig": map[string]any{"serverName": "memsight"},
			"basicAuth": map[string]any{"username": map[string]any{"name": "scrape", "key": "user"}, "password": map[string]any{"name": "scrape", "key": "password"}}},
	}))
	st := checkProtected(t, o)
	if st.WebConfigFile != "/etc/memsight-web/web-config.yml" || st.Listen != ":9464" {
		t.Errorf("web_config_file %q listen %q", st.WebConfigFile, st.Listen)
	}
	c := container(t, o, "memsight")
	if v := volumeOf(t, o, c, "/etc/memsight-web"); v.Secret == nil || v.Secret.SecretName != "memsight-web-config" {
		t.Errorf("web config volume %+v", v)
	}
	if v := volumeOf(t, o, c, "/etc/memsight-tls"); v.Secret == nil || v.Secret.SecretName != "memsight-tls" {
		t.Errorf("TLS volume %+v", v)
	}
	var got map[string]any
	if len(o.secrets) != 1 || yaml.Unmarshal(o.secrets[0].Data["web-config.yml"], &got) != nil || !reflect.DeepEqual(got, web) {
		t.Errorf("web config Secret %+v", o.secrets)
	}
	ep := o.serviceMonitors[0].Spec.Endpoints[0]
	if ep.Scheme != "https" || ep.TLSConfig["serverName"] != "memsight" || ep.BasicAuth == nil {
		t.Errorf("ServiceMonitor endpoint %+v", ep)
	}

	o = decodeStream(t, "webConfig existing", renderChart(t, "memsight", map[string]any{"webConfig": map[string]any{"enabled": true, "existingSecret": "mine"}}))
	if v := volumeOf(t, o, container(t, o, "memsight"), "/etc/memsight-web"); v.Secret == nil || v.Secret.SecretName != "mine" || len(o.secrets) != 0 {
		t.Errorf("existingSecret: volume %+v, %d Secrets created", v, len(o.secrets))
	}
	if _, err := helmTemplate(t, "memsight", "--set", "webConfig.enabled=true"); err == nil || !strings.Contains(err.Error(), "webConfig.config") {
		t.Errorf("webConfig.enabled without a file: %v", err)
	}
	if _, err := helmTemplate(t, "memsight", "--set", "webConfig.enabled=true,webConfig.existingSecret=x,kubeRbacProxy.enabled=true"); err == nil ||
		!strings.Contains(err.Error(), "enable at most one") {
		t.Errorf("webConfig and kubeRbacProxy together: %v", err)
	}
}

// TestHelmKubeRbacProxy: the proxy serves the metrics port with TLS and
// Kubernetes authn/authz, the agent listens on localhost, the ClusterRole
// gains tokenreviews and subjectaccessreviews, and the ServiceMonitor
// scrapes with the service account's token.
func TestHelmKubeRbacProxy(t *testing.T) {
	o := decodeStream(t, "kubeRbacProxy", renderChart(t, "memsight", map[string]any{"kubeRbacProxy": map[string]any{"enabled": true}}))
	st := checkProtected(t, o)
	if st.Listen != "127.0.0.1:9463" || st.WebConfigFile != "" {
		t.Errorf("agent listen %q web_config_file %q: want 127.0.0.1:9463 and none", st.Listen, st.WebConfigFile)
	}
	agent, proxy := container(t, o, "memsight"), container(t, o, "kube-rbac-proxy")
	if slices.ContainsFunc(agent.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" }) {
		t.Error("the agent's container still exposes metrics")
	}
	if len(proxy.Ports) != 1 || proxy.Ports[0].Name != "metrics" || proxy.Ports[0].ContainerPort != 9464 ||
		!slices.Contains(proxy.Args, "--upstream=http://127.0.0.1:9463/") || !slices.Contains(proxy.Args, "--secure-listen-address=0.0.0.0:9464") {
		t.Errorf("proxy ports %+v args %v", proxy.Ports, proxy.Args)
	}
	if sc := proxy.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Capabilities == nil || len(sc.Capabilities.Add) != 0 {
		t.Errorf("proxy securityContext %+v: want non-root without capabilities", sc)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
	}
	if !reflect.DeepEqual(o.clusterRoles[0].Rules, want) {
		t.Errorf("ClusterRole rules %+v", o.clusterRoles[0].Rules)
	}
	ep := o.serviceMonitors[0].Spec.Endpoints[0]
	if ep.Scheme != "https" || ep.BearerTokenFile != "/var/run/secrets/kubernetes.io/serviceaccount/token" || ep.TLSConfig["insecureSkipVerify"] != true {
		t.Errorf("ServiceMonitor endpoint %+v", ep)
	}
}

// TestHelmTestHook: the helm test Pod curls /readyz of the agent's
// Service, is a test hook, restricted, and not selected by the Service.
func TestHelmTestHook(t *testing.T) {
	o := decodeStream(t, "chart", renderChart(t, "memsight", nil))
	if len(o.pods) != 1 {
		t.Fatalf("%d Pods, want the helm test", len(o.pods))
	}
	p := o.pods[0]
	if p.Annotations["helm.sh/hook"] != "test" || p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("test Pod annotations %v restartPolicy %q", p.Annotations, p.Spec.RestartPolicy)
	}
	c := p.Spec.Containers[0]
	if !slices.Contains(c.Args, "--fail") || !slices.Contains(c.Args, "http://memsight.memsight.svc:9464/readyz") {
		t.Errorf("test Pod args %v: want curl --fail of the Service's /readyz", c.Args)
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || p.Spec.SecurityContext.RunAsNonRoot == nil {
		t.Errorf("test Pod is not restricted: %+v", sc)
	}
	for k, v := range o.services[0].Spec.Selector {
		if p.Labels[k] != v {
			return
		}
	}
	t.Errorf("the Service selects the test Pod (labels %v)", p.Labels)
}

// TestHelmDashboard: the dashboard ConfigMap carries the sidecar's label
// (configurable) and the dashboard; it can go to Grafana's namespace.
func TestHelmDashboard(t *testing.T) {
	o := decodeStream(t, "chart", renderChart(t, "memsight", nil))
	if len(o.dashboards) != 1 || o.dashboards[0].Labels["grafana_dashboard"] != "1" ||
		o.dashboards[0].Data["memsight.json"] != strings.TrimSuffix(string(readFile(t, dashboard)), "\n") {
		t.Fatalf("dashboard ConfigMaps %d, labels %v", len(o.dashboards), o.dashboards[0].Labels)
	}
	o = decodeStream(t, "chart", renderChart(t, "memsight", map[string]any{"grafanaDashboard": map[string]any{
		"labels": map[string]any{"grafana_dashboard": nil, "dashboards": "memsight"}, "namespace": "grafana",
		"annotations": map[string]any{"grafana_folder": "Go"}}}))
	d := o.dashboards[0]
	if d.Namespace != "grafana" || d.Labels["dashboards"] != "memsight" || d.Labels["grafana_dashboard"] != "" || d.Annotations["grafana_folder"] != "Go" {
		t.Errorf("dashboard ConfigMap %+v", d.ObjectMeta)
	}
	o = decodeStream(t, "chart", renderChart(t, "memsight", map[string]any{"grafanaDashboard": map[string]any{"enabled": false}}))
	if len(o.dashboards) != 0 {
		t.Error("grafanaDashboard.enabled=false still renders it")
	}
}

// TestHelmRuleValues: each alert can be turned off or given another for,
// severity and threshold.
func TestHelmRuleValues(t *testing.T) {
	o := decodeStream(t, "chart", renderChart(t, "memsight", map[string]any{"prometheusRule": map[string]any{"rules": map[string]any{
		"MemsightFDGrowth":          map[string]any{"enabled": false},
		"MemsightAgentSampleErrors": map[string]any{"threshold": 50, "for": "1h", "severity": "critical"},
	}}}))
	var alerts []string
	for _, g := range o.rules[0].Spec.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			if r.Alert == "MemsightAgentSampleErrors" &&
				(!strings.HasSuffix(r.Expr, "> 50") || r.For != "1h" || r.Labels["severity"] != "critical") {
				t.Errorf("MemsightAgentSampleErrors: expr %q for %q labels %v", r.Expr, r.For, r.Labels)
			}
		}
	}
	if slices.Contains(alerts, "MemsightFDGrowth") || len(alerts) != len(wantAlerts)-1 {
		t.Errorf("alerts %v: want all but MemsightFDGrowth", alerts)
	}
}

// TestHelmNotes: NOTES.txt renders, and says when the monitoring objects
// were left out.
func TestHelmNotes(t *testing.T) {
	// helm install --dry-run needs a cluster here: render NOTES.txt as a
	// ConfigMap of a copy of the chart instead.
	dir := filepath.Join(t.TempDir(), "memsight")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "templates", "NOTES.txt"), filepath.Join(dir, "NOTES.txt")); err != nil {
		t.Fatal(err)
	}
	tpl := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ tpl (.Files.Get \"NOTES.txt\") . | indent 4 }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "notes.yaml"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	helm := requireHelm(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{monitoringAPIs, []string{"helm test memsight -n memsight", "a ServiceMonitor scrapes port 9464", "consider webConfig or kubeRbacProxy"}},
		{nil, []string{"NO ServiceMonitor was created", "NO PrometheusRule was created"}},
		{[]string{"--set", "kubeRbacProxy.enabled=true"}, []string{"memsight top --from https://127.0.0.1:9464"}},
	} {
		out, err := exec.Command(helm, append([]string{"template", "memsight", dir, "-n", "memsight", "--show-only", "templates/notes.yaml"}, c.args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("NOTES.txt with %v: no %q in\n%s", c.args, w, out)
			}
		}
	}
}
