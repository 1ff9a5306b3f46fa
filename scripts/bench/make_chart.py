#!/usr/bin/env python3
"""A large Helm chart for scripts/bench/helm-render.sh: COMPONENTS components, each a
Deployment, a Service and a ConfigMap (3 templates each), written the way public charts are
(helpers included with nindent, toYaml of nested values, range over env and ports, default,
quote, with, if, sha256sum of a config)."""
import os
import sys

out, components = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40
templates = os.path.join(out, "templates")
os.makedirs(templates, exist_ok=True)

with open(os.path.join(out, "Chart.yaml"), "w") as f:
    f.write("apiVersion: v2\nname: bench\nversion: 0.1.0\nappVersion: 1.0.0\n")

helpers = '''{{- define "bench.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}
{{- define "bench.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
'''
with open(os.path.join(templates, "_helpers.tpl"), "w") as f:
    f.write(helpers)

deployment = '''{{- $c := .Values.components.NAME }}
{{- if $c.enabled }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "bench.fullname" . }}-NAME
  labels:
    {{- include "bench.labels" . | nindent 4 }}
    app.kubernetes.io/component: NAME
spec:
  replicas: {{ $c.replicas | default 1 }}
  selector:
    matchLabels:
      {{- include "bench.selector" . | nindent 6 }}
      app.kubernetes.io/component: NAME
  template:
    metadata:
      annotations:
        checksum/config: {{ toYaml $c.config | sha256sum }}
      labels:
        {{- include "bench.selector" . | nindent 8 }}
        app.kubernetes.io/component: NAME
    spec:
      containers:
      - name: app
        image: "{{ $c.image.repository }}:{{ $c.image.tag | default .Chart.AppVersion }}"
        imagePullPolicy: {{ $c.image.pullPolicy | default "IfNotPresent" }}
        env:
        {{- range $key, $value := $c.env }}
        - name: {{ $key | upper | replace "-" "_" }}
          value: {{ $value | quote }}
        {{- end }}
        ports:
        {{- range $c.ports }}
        - name: {{ .name }}
          containerPort: {{ .port }}
          protocol: {{ .protocol | default "TCP" }}
        {{- end }}
        resources:
          {{- toYaml $c.resources | nindent 10 }}
      {{- with $c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
'''
service = '''{{- $c := .Values.components.NAME }}
{{- if and $c.enabled $c.service.enabled }}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "bench.fullname" . }}-NAME
  labels:
    {{- include "bench.labels" . | nindent 4 }}
spec:
  type: {{ $c.service.type | default "ClusterIP" }}
  ports:
  {{- range $c.ports }}
  - name: {{ .name }}
    port: {{ .port }}
    targetPort: {{ .name }}
  {{- end }}
  selector:
    {{- include "bench.selector" . | nindent 4 }}
    app.kubernetes.io/component: NAME
{{- end }}
'''
configmap = '''{{- $c := .Values.components.NAME }}
{{- if $c.enabled }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "bench.fullname" . }}-NAME-config
  labels:
    {{- include "bench.labels" . | nindent 4 }}
data:
  {{- range $key, $value := $c.config }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
  settings.yaml: |
    {{- toYaml $c.config | nindent 4 }}
{{- end }}
'''

values = ["components:"]
for i in range(components):
    name = f"c{i:03d}"
    for kind, text in (("deployment", deployment), ("service", service), ("configmap", configmap)):
        with open(os.path.join(templates, f"{name}-{kind}.yaml"), "w") as f:
            f.write(text.replace("NAME", name))
    values.append(f'''  {name}:
    enabled: true
    replicas: {1 + i % 3}
    image: {{repository: registry.example.com/team/{name}, tag: "1.{i}.0"}}
    env: {{log-level: info, region: eu-west-{i % 3}, feature-x: "true", workers: "{i % 8 + 1}"}}
    ports:
    - {{name: http, port: 8080}}
    - {{name: metrics, port: 9090}}
    resources:
      requests: {{cpu: 100m, memory: 128Mi}}
      limits: {{memory: 256Mi}}
    nodeSelector: {{kubernetes.io/os: linux}}
    tolerations:
    - {{key: dedicated, operator: Equal, value: apps, effect: NoSchedule}}
    service: {{enabled: true}}
    config: {{timeout: 30, retries: 3, endpoint: "https://{name}.example.com", cache: true}}''')
with open(os.path.join(out, "values.yaml"), "w") as f:
    f.write("\n".join(values) + "\n")
