{{/* The release's name, or release-convoy when the release name does not say convoy. */}}
{{- define "convoy.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "convoy.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/part-of: convoy
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* What selects the server's pods (never changes between upgrades). */}}
{{- define "convoy.selectorLabels" -}}
app.kubernetes.io/component: server
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/part-of: convoy
{{- end -}}

{{/* Several replicas share one database: without one, say how to configure it. */}}
{{- define "convoy.database" -}}
{{- if or .Values.database.url .Values.database.existingSecret -}}
true
{{- else if gt (int .Values.replicas) 1 -}}
{{- fail "replicas > 1 needs a PostgreSQL database: set database.url or database.existingSecret (SQLite is one process's store)" -}}
{{- end -}}
{{- end -}}

{{- define "convoy.databaseSecret" -}}
{{- default (printf "%s-database" (include "convoy.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{- define "convoy.scheme" -}}
{{- if .Values.tls.enabled }}HTTPS{{ else }}HTTP{{ end -}}
{{- end -}}
