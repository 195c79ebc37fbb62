{{/*
Names. Kubernetes name fields are limited to 63 characters (DNS-1123 labels), so every name is
truncated there and loses a trailing "-" the cut may leave.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "reconstructor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name: the release name, plus the chart name unless the release name
already contains it. fullnameOverride replaces it.
*/}}
{{- define "reconstructor.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A name derived from the full name with a suffix ("-postgresql", "-migrate"). The full name is
cut first so the suffix always survives and names stay distinct.
*/}}
{{- define "reconstructor.componentName" -}}
{{- $suffix := printf "-%s" .suffix }}
{{- $base := include "reconstructor.fullname" .context | trunc (int (sub 63 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s%s" $base $suffix }}
{{- end }}

{{/* Chart name and version, as used by the helm.sh/chart label. */}}
{{- define "reconstructor.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object. Selector labels are a stable subset: they are immutable on Deployments
and StatefulSets, so nothing that changes between releases (version, chart) may go into them.
*/}}
{{- define "reconstructor.labels" -}}
helm.sh/chart: {{ include "reconstructor.chart" . }}
app.kubernetes.io/name: {{ include "reconstructor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: reconstructor
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels of one component (server, postgresql, migrations, test). The component keeps the
server's Service, PodDisruptionBudget and NetworkPolicy from selecting the database's pods.
Usage: include "reconstructor.selectorLabels" (dict "context" $ "component" "server")
*/}}
{{- define "reconstructor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reconstructor.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Full labels of one component. Same arguments as reconstructor.selectorLabels. */}}
{{- define "reconstructor.componentLabels" -}}
{{ include "reconstructor.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Annotations on every object (commonAnnotations), as a YAML map or nothing. */}}
{{- define "reconstructor.annotations" -}}
{{- with .Values.commonAnnotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
The label that lets a pod through the server's NetworkPolicy when networkPolicy.allowExternal is
false (the Helm test pod carries it; give it to producers in the namespace).
*/}}
{{- define "reconstructor.clientLabel" -}}
{{ include "reconstructor.fullname" . }}-client
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "reconstructor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "reconstructor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
An image reference from {registry, repository, tag, digest}; the digest wins over the tag.
Usage: include "reconstructor.image" (dict "image" .Values.image "defaultTag" .Chart.AppVersion)
*/}}
{{- define "reconstructor.image" -}}
{{- $repository := .image.repository }}
{{- if .image.registry }}
{{- $repository = printf "%s/%s" .image.registry .image.repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (toString (.image.tag | default .defaultTag)) }}
{{- end }}
{{- end }}

{{/* imagePullSecrets of the pod spec, or nothing. */}}
{{- define "reconstructor.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  {{- if kindIs "string" . }}
  - name: {{ . }}
  {{- else }}
  - {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Where the data lives: "external" (database.url or database.existingSecret), "postgresql" (the
built-in StatefulSet) or "sqlite" (a file in the data directory). Asking for both an external
URL and the built-in one is refused (reconstructor.validateValues).
*/}}
{{- define "reconstructor.databaseMode" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}
{{- print "external" }}
{{- else if .Values.postgresql.enabled }}
{{- print "postgresql" }}
{{- else }}
{{- print "sqlite" }}
{{- end }}
{{- end }}

{{/*
Server replicas. SQLite is a single file on one volume: a second writer in another pod would
corrupt it, so the count is pinned to 1 whatever replicaCount says.
*/}}
{{- define "reconstructor.replicas" -}}
{{- if eq (include "reconstructor.databaseMode" .) "sqlite" }}
{{- print 1 }}
{{- else }}
{{- print (int .Values.replicaCount) }}
{{- end }}
{{- end }}

{{/*
Whether the migration Job runs. Not with SQLite: the Job could not share the server's volume
(ReadWriteOnce) or its emptyDir, and a single server migrates safely on start.
*/}}
{{- define "reconstructor.migrationJob" -}}
{{- if and .Values.migrations.enabled (ne (include "reconstructor.databaseMode" .) "sqlite") }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/* The chart's Secret (database URL, tokens). */}}
{{- define "reconstructor.secretName" -}}
{{- include "reconstructor.fullname" . }}
{{- end }}

{{/* The Secret and key holding the external database URL. */}}
{{- define "reconstructor.databaseSecretName" -}}
{{- default (include "reconstructor.secretName" .) .Values.database.existingSecret }}
{{- end }}

{{- define "reconstructor.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}
{{- .Values.database.existingSecretKey }}
{{- else }}
{{- print "database-url" }}
{{- end }}
{{- end }}

{{/* The built-in PostgreSQL's names. */}}
{{- define "reconstructor.postgresql.fullname" -}}
{{- include "reconstructor.componentName" (dict "context" . "suffix" "postgresql") }}
{{- end }}

{{- define "reconstructor.postgresql.secretName" -}}
{{- default (include "reconstructor.postgresql.fullname" .) .Values.postgresql.auth.existingSecret }}
{{- end }}

{{/* The Secret holding tokens: auth.existingSecret or the chart's. */}}
{{- define "reconstructor.tokensSecretName" -}}
{{- default (include "reconstructor.secretName" .) .Values.auth.existingSecret }}
{{- end }}

{{/* The key of the ingest tokens in that Secret, or nothing when none are configured. */}}
{{- define "reconstructor.ingestTokensKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretIngestTokensKey }}
{{- else if .Values.auth.ingestTokens }}
{{- print "ingest-tokens" }}
{{- end }}
{{- end }}

{{/* The key of the read tokens in that Secret, or nothing when none are configured. */}}
{{- define "reconstructor.readTokensKey" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecretReadTokensKey }}
{{- else if .Values.auth.readTokens }}
{{- print "read-tokens" }}
{{- end }}
{{- end }}

{{/* Whether the chart must create its own Secret. */}}
{{- define "reconstructor.createSecret" -}}
{{- if or (and .Values.database.url (not .Values.database.existingSecret)) (and (not .Values.auth.existingSecret) (or .Values.auth.ingestTokens .Values.auth.readTokens)) }}
{{- print "true" }}
{{- end }}
{{- end }}

{{/* Where token files are mounted. */}}
{{- define "reconstructor.secretsDir" -}}
/etc/reconstructor/secrets
{{- end }}

{{/*
The server's shutdown deadline and the pod's grace period derive from shutdown.timeoutSeconds:
Kubernetes waits preStopSleepSeconds, sends SIGTERM, and kills the container only after the
server's own deadline plus a margin for committing what is queued and closing the database.
*/}}
{{- define "reconstructor.terminationGracePeriodSeconds" -}}
{{- add (int .Values.shutdown.preStopSleepSeconds) (int .Values.shutdown.timeoutSeconds) (int .Values.shutdown.graceMarginSeconds) }}
{{- end }}

{{/*
A byte count in the unit nginx reads (client_max_body_size, proxy-body-size): whole mebibytes or
kibibytes when exact, bytes otherwise.
*/}}
{{- define "reconstructor.nginxSize" -}}
{{- $bytes := int64 . }}
{{- if eq (mod $bytes 1048576) 0 }}
{{- printf "%dm" (div $bytes 1048576) }}
{{- else if eq (mod $bytes 1024) 0 }}
{{- printf "%dk" (div $bytes 1024) }}
{{- else }}
{{- printf "%d" $bytes }}
{{- end }}
{{- end }}

{{/*
Environment shared by the server and the migration Job: database connection and token files.
Non-secret settings come from the ConfigMap (envFrom).
*/}}
{{- define "reconstructor.env" -}}
{{- $mode := include "reconstructor.databaseMode" . }}
{{- if eq $mode "external" }}
- name: RECONSTRUCTOR_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "reconstructor.databaseSecretName" . }}
      key: {{ include "reconstructor.databaseSecretKey" . }}
{{- else if eq $mode "postgresql" }}
# Kubernetes expands $(POSTGRESQL_PASSWORD) from the variable above it, so the password stays in
# its Secret. Generated passwords are alphanumeric; one from an existing Secret must be URL-safe.
- name: POSTGRESQL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "reconstructor.postgresql.secretName" . }}
      key: {{ .Values.postgresql.auth.existingSecretPasswordKey | default "password" }}
- name: RECONSTRUCTOR_DATABASE_URL
  value: {{ printf "postgres://%s:$(POSTGRESQL_PASSWORD)@%s.%s.svc:%d/%s" .Values.postgresql.auth.username (include "reconstructor.postgresql.fullname" .) .Release.Namespace (int .Values.postgresql.service.port) .Values.postgresql.auth.database | quote }}
{{- end }}
{{- if include "reconstructor.ingestTokensKey" . }}
- name: RECONSTRUCTOR_INGEST_TOKEN_FILE
  value: {{ include "reconstructor.secretsDir" . }}/ingest-tokens
{{- end }}
{{- if include "reconstructor.readTokensKey" . }}
- name: RECONSTRUCTOR_READ_TOKEN_FILE
  value: {{ include "reconstructor.secretsDir" . }}/read-tokens
{{- end }}
{{- if .Values.config.file }}
- name: RECONSTRUCTOR_CONFIG
  value: /etc/reconstructor/config.toml
{{- end }}
{{- if include "reconstructor.webhooksSecretName" . }}
- name: RECONSTRUCTOR_WEBHOOKS_FILE
  value: /etc/reconstructor/webhooks/webhooks.toml
{{- end }}
{{- end }}

{{/* The Secret holding the webhook subscriptions file, or nothing when there are none. */}}
{{- define "reconstructor.webhooksSecretName" -}}
{{- if .Values.webhooks.existingSecret -}}
{{- .Values.webhooks.existingSecret -}}
{{- else if .Values.webhooks.subscriptions -}}
{{- include "reconstructor.componentName" (dict "context" . "suffix" "webhooks") -}}
{{- end -}}
{{- end }}

{{/* Volumes shared by the server and the migration Job (tmp, token files, config file). */}}
{{- define "reconstructor.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- if or (include "reconstructor.ingestTokensKey" .) (include "reconstructor.readTokensKey" .) }}
- name: tokens
  secret:
    secretName: {{ include "reconstructor.tokensSecretName" . }}
    defaultMode: 0440
    items:
      {{- with include "reconstructor.ingestTokensKey" . }}
      - key: {{ . }}
        path: ingest-tokens
      {{- end }}
      {{- with include "reconstructor.readTokensKey" . }}
      - key: {{ . }}
        path: read-tokens
      {{- end }}
{{- end }}
{{- with include "reconstructor.webhooksSecretName" . }}
- name: webhooks
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: {{ ternary $.Values.webhooks.existingSecretKey "webhooks.toml" (not (empty $.Values.webhooks.existingSecret)) }}
        path: webhooks.toml
{{- end }}
{{- if .Values.config.file }}
- name: config-file
  configMap:
    name: {{ include "reconstructor.componentName" (dict "context" . "suffix" "config") }}
    items:
      - key: config.toml
        path: config.toml
{{- end }}
{{- end }}

{{/* Mounts of reconstructor.commonVolumes. */}}
{{- define "reconstructor.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if or (include "reconstructor.ingestTokensKey" .) (include "reconstructor.readTokensKey" .) }}
- name: tokens
  mountPath: {{ include "reconstructor.secretsDir" . }}
  readOnly: true
{{- end }}
{{- if include "reconstructor.webhooksSecretName" . }}
- name: webhooks
  mountPath: /etc/reconstructor/webhooks
  readOnly: true
{{- end }}
{{- if .Values.config.file }}
- name: config-file
  mountPath: /etc/reconstructor/config.toml
  subPath: config.toml
  readOnly: true
{{- end }}
{{- end }}

{{/*
Checks that stop a render with a message instead of producing a release that cannot work.
*/}}
{{- define "reconstructor.validateValues" -}}
{{- $mode := include "reconstructor.databaseMode" . }}
{{- if and (eq $mode "sqlite") .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled needs a shared database: SQLite runs a single replica. Set database.url, database.existingSecret or postgresql.enabled=true." }}
{{- end }}
{{- if and .Values.database.url .Values.database.existingSecret }}
{{- fail "set either database.url or database.existingSecret, not both" }}
{{- end }}
{{- if and (eq $mode "external") .Values.postgresql.enabled }}
{{- fail "database.url or database.existingSecret points the server at an external Postgres, and postgresql.enabled=true would also deploy the built-in one, which nothing would use. Set postgresql.enabled=false to use the external database, or unset database.url and database.existingSecret to use the built-in one." }}
{{- end }}
{{- if lt (int .Values.shutdown.graceMarginSeconds) 1 }}
{{- fail "shutdown.graceMarginSeconds must be at least 1, so Kubernetes waits past the server's own shutdown deadline" }}
{{- end }}
{{- if and .Values.auth.existingSecret (not (or .Values.auth.existingSecretIngestTokensKey .Values.auth.existingSecretReadTokensKey)) }}
{{- fail "auth.existingSecret is set but neither auth.existingSecretIngestTokensKey nor auth.existingSecretReadTokensKey names a key in it" }}
{{- end }}
{{- end }}
