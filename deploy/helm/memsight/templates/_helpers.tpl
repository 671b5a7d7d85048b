{{/* Name of every object. */}}
{{- define "memsight.fullname" -}}
{{- default "memsight" .Values.fullnameOverride -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "memsight.labels" -}}
{{ include "memsight.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels: the Service, ServiceMonitor and DaemonSet use them. */}}
{{- define "memsight.selectorLabels" -}}
app.kubernetes.io/name: memsight
app.kubernetes.io/component: agent
{{- end -}}
