{{- define "common.fullname" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- printf "%s-%s" $root.Release.Name $suffix | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "common.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
{{- range $k, $v := .Values.global.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}

{{- define "common.configmap" }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.fullname" (list .root .name) }}
  labels:
    {{- include "common.labels" .root | nindent 4 }}
data:
  config.json: {{ .data | toJson | quote }}
  config.yaml: |
    {{- .data | toYaml | nindent 4 }}
{{- end }}
