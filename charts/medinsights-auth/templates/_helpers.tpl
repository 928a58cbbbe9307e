{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "medinsights-auth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name of every object. */}}
{{- define "medinsights-auth.fullname" -}}
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

{{- define "medinsights-auth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object, without a component. */}}
{{- define "medinsights-auth.commonLabels" -}}
helm.sh/chart: {{ include "medinsights-auth.chart" . }}
app.kubernetes.io/name: {{ include "medinsights-auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: medinsights
{{- end -}}

{{/* Selects the issuer's pods (not the migration Job's). */}}
{{- define "medinsights-auth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "medinsights-auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: issuer
{{- end -}}

{{- define "medinsights-auth.labels" -}}
{{ include "medinsights-auth.commonLabels" . }}
app.kubernetes.io/component: issuer
{{- end -}}

{{- define "medinsights-auth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "medinsights-auth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "medinsights-auth.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
Environment shared by the issuer and the migration Job. Inline (not the
ConfigMap) because a pre-install hook runs before the ConfigMap exists.
*/}}
{{- define "medinsights-auth.env" -}}
- name: JWT_ALGORITHM
  value: RS256
- name: JWT_ACCESS_TOKEN_LIFETIME
  value: {{ .Values.config.accessTokenLifetime | int | quote }}
- name: JWT_REFRESH_TOKEN_LIFETIME
  value: {{ .Values.config.refreshTokenLifetime | int | quote }}
- name: REFRESH_REUSE_INTERVAL
  value: {{ .Values.config.refreshReuseInterval | int | quote }}
- name: JWT_PRIVATE_KEY_PATH
  value: /etc/medinsights-auth/keys/private.pem
- name: JWT_PUBLIC_KEY_PATH
  value: /etc/medinsights-auth/keys/public.pem
{{- if .Values.existingSecrets.retiredKeys.name }}
- name: JWT_RETIRED_KEYS_DIR
  value: /etc/medinsights-auth/retired-keys
{{- end }}
- name: JWT_ISSUER
  value: {{ required "config.issuer is required" .Values.config.issuer | quote }}
- name: JWT_AUDIENCE
  value: {{ required "config.audience is required" .Values.config.audience | quote }}
- name: CORS_ALLOWED_ORIGINS
  value: {{ join "," .Values.config.corsAllowedOrigins | quote }}
- name: REFRESH_COOKIE_PATH
  value: {{ .Values.config.refreshCookiePath | default "/" | quote }}
- name: DEFAULT_ROLES
  value: {{ join "," .Values.config.defaultRoles | quote }}
{{- with .Values.config.trustedProxies }}
- name: TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
- name: LISTEN_ADDR
  value: {{ printf ":%d" (.Values.service.port | int) | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "existingSecrets.app.name is required" .Values.existingSecrets.app.name }}
      key: {{ .Values.existingSecrets.app.databaseURLKey }}
{{- end -}}
