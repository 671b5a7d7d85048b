{{/* The chart's name: app.kubernetes.io/name, Prometheus's job label. */}}
{{- define "memsight.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of every object. */}}
{{- define "memsight.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "memsight.labels" -}}
{{ include "memsight.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels: the Service, ServiceMonitor and DaemonSet use them. */}}
{{- define "memsight.selectorLabels" -}}
app.kubernetes.io/name: {{ include "memsight.name" . }}
app.kubernetes.io/component: agent
{{- end -}}

{{/* True when the port is protected and /healthz, /readyz move to healthPort. */}}
{{- define "memsight.protected" -}}
{{- if or .Values.webConfig.enabled .Values.kubeRbacProxy.enabled }}true{{ end -}}
{{- end -}}

{{/* Whether the cluster serves a monitoring.coreos.com/v1 kind (argument: the kind). */}}
{{- define "memsight.hasMonitoring" -}}
{{- $apis := .root.Capabilities.APIVersions -}}
{{- if or ($apis.Has (printf "monitoring.coreos.com/v1/%s" .kind)) ($apis.Has "monitoring.coreos.com/v1") }}true{{ end -}}
{{- end -}}

{{/* The webhook Secret's name. */}}
{{- define "memsight.webhookSecret" -}}
{{- default (printf "%s-webhook" (include "memsight.fullname" .)) .Values.webhook.existingSecret -}}
{{- end -}}

{{/* The web configuration Secret's name. */}}
{{- define "memsight.webConfigSecret" -}}
{{- default (printf "%s-web-config" (include "memsight.fullname" .)) .Values.webConfig.existingSecret -}}
{{- end -}}

{{/* config.yaml: .Values.config with what the chart sets. */}}
{{- define "memsight.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- if .Values.kubeRbacProxy.enabled -}}
{{- $_ := set $cfg "listen" (printf "127.0.0.1:%v" .Values.kubeRbacProxy.upstreamPort) -}}
{{- else -}}
{{- $_ := set $cfg "listen" (printf ":%v" .Values.port) -}}
{{- end -}}
{{- if include "memsight.protected" . -}}
{{- $_ := set $cfg "health_listen" (printf ":%v" .Values.healthPort) -}}
{{- end -}}
{{- if .Values.webConfig.enabled -}}
{{- $_ := set $cfg "web_config_file" "/etc/memsight-web/web-config.yml" -}}
{{- end -}}
{{- if .Values.webhook.enabled -}}
{{- $wh := dict "url_file" "/etc/memsight-webhook/url" "format" .Values.webhook.format -}}
{{- if or (and .Values.webhook.existingSecret .Values.webhook.secretKey) (and (not .Values.webhook.existingSecret) .Values.webhook.secret) -}}
{{- $_ := set $wh "secret_file" "/etc/memsight-webhook/secret" -}}
{{- end -}}
{{- $_ := set $cfg "webhook" (merge $wh (default dict $cfg.webhook)) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
