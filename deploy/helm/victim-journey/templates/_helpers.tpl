{{/*
Names, labels and the pieces every pod shares. Components: referral, support, prosecution
(the partner APIs), journey-processor, analytics-sink, analytics, migrations. A component's
name is also its Prometheus job (deploy/observability/alerts.yaml names them).
*/}}

{{- define "victim-journey.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "victim-journey.fullname" -}}
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

{{/* A component's object name: (dict "root" $ "component" "referral") */}}
{{- define "victim-journey.componentName" -}}
{{- printf "%s-%s" (include "victim-journey.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "victim-journey.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "victim-journey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "victim-journey.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "victim-journey.labels" -}}
helm.sh/chart: {{ include "victim-journey.chart" . }}
{{ include "victim-journey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: victim-journey
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* (dict "root" $ "component" "referral") */}}
{{- define "victim-journey.componentSelectorLabels" -}}
{{ include "victim-journey.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "victim-journey.componentLabels" -}}
{{ include "victim-journey.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "victim-journey.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "victim-journey.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "victim-journey.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Pod Security Standards "restricted", for every pod and container: non-root with a fixed
UID, the runtime's default seccomp profile, no privilege escalation, no capabilities, a
read-only root filesystem (writable: an emptyDir at /tmp, and the processor's store).
*/}}
{{- define "victim-journey.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "victim-journey.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* What every pod spec starts with. */}}
{{- define "victim-journey.podCommon" -}}
serviceAccountName: {{ include "victim-journey.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- include "victim-journey.podSecurityContext" . | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Scheduling of a component's pods: the component's values. */}}
{{- define "victim-journey.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "victim-journey.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/* A database URL by reference: (dict "root" $ "name" "DATABASE_URL" "database" "referral") */}}
{{- define "victim-journey.databaseEnv" -}}
{{- $pg := .root.Values.postgresql }}
{{- include "victim-journey.secretEnv" (dict "name" .name "secret" (required "postgresql.existingSecret is required: a Secret holding each service's database URL" $pg.existingSecret) "key" (get $pg.keys .database)) }}
{{- end }}

{{/* Environment every process shares: Kafka, telemetry, logs. */}}
{{/* How to reach Kafka, and as whom: every process, the migrations Job too (it creates the
topics). Each process is its own principal: (dict "root" $ "principal" "referral"). */}}
{{- define "victim-journey.kafkaEnv" -}}
{{- $kafka := .root.Values.kafka -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" $kafka.bootstrapServers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $kafka.securityProtocol | quote }}
{{- if $kafka.tls.caSecret }}
- name: KAFKA_SSL_CAFILE
  value: /etc/victim-journey/kafka-ca/{{ $kafka.tls.caKey }}
{{- end }}
{{- if hasPrefix "SASL_" $kafka.securityProtocol }}
- name: KAFKA_SASL_MECHANISM
  value: {{ required "kafka.sasl.mechanism is required with a SASL protocol" $kafka.sasl.mechanism | quote }}
{{- $secret := required "kafka.sasl.existingSecret is required with a SASL protocol" $kafka.sasl.existingSecret }}
{{- $keys := get $kafka.sasl.principals .principal }}
{{ include "victim-journey.secretEnv" (dict "name" "KAFKA_SASL_USERNAME" "secret" $secret "key" $keys.usernameKey) }}
{{ include "victim-journey.secretEnv" (dict "name" "KAFKA_SASL_PASSWORD" "secret" $secret "key" $keys.passwordKey) }}
{{- end }}
{{- end }}

{{/* (dict "root" $ "principal" "referral"): the principal is the process's Kafka identity. */}}
{{- define "victim-journey.commonEnv" -}}
{{ include "victim-journey.kafkaEnv" . }}
{{- with .root }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: DEPLOYMENT_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: METRICS_HOST
  value: "0.0.0.0"
- name: METRICS_PORT
  value: {{ .Values.telemetry.metricsPort | quote }}
{{- if .Values.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.telemetry.otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.telemetry.otlpProtocol | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- end }}
{{- end }}

{{/* Environment of an HTTP service (the partner APIs, analytics): (dict "root" $ "values" .Values.referral) */}}
{{- define "victim-journey.httpEnv" -}}
{{- $auth := .root.Values.auth -}}
- name: HTTP_HOST
  value: "0.0.0.0"
- name: HTTP_PORT
  value: {{ .values.httpPort | quote }}
- name: CREATE_DATABASE
  value: "false"
{{- with $auth.issuer }}
- name: AUTH_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $auth.audience }}
- name: AUTH_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $auth.jwksUrl }}
- name: AUTH_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- if $auth.jwks.existingSecret }}
- name: AUTH_JWKS_FILE
  value: /etc/victim-journey/jwks/{{ $auth.jwks.key }}
{{- end }}
{{- if $auth.agencyRegistry.existingConfigMap }}
- name: AGENCY_REGISTRY_PATH
  value: /etc/victim-journey/agencies/{{ $auth.agencyRegistry.key }}
{{- end }}
{{- with .root.Values.kafka.consumerGroupPrefix }}
- name: CONSUMER_GROUP_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Volumes and mounts every pod has: /tmp, and the Kafka CA when there is one. */}}
{{- define "victim-journey.commonVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret }}
    items:
      - key: {{ .Values.kafka.tls.caKey }}
        path: {{ .Values.kafka.tls.caKey }}
{{- end }}
{{- end }}

{{- define "victim-journey.commonMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/victim-journey/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* The HTTP services' extra volumes: the JWKS document and the agency registry. */}}
{{- define "victim-journey.httpVolumes" -}}
{{- $auth := .Values.auth -}}
{{- if $auth.jwks.existingSecret }}
- name: jwks
  secret:
    secretName: {{ $auth.jwks.existingSecret }}
    items:
      - key: {{ $auth.jwks.key }}
        path: {{ $auth.jwks.key }}
{{- end }}
{{- if $auth.agencyRegistry.existingConfigMap }}
- name: agencies
  configMap:
    name: {{ $auth.agencyRegistry.existingConfigMap }}
    items:
      - key: {{ $auth.agencyRegistry.key }}
        path: {{ $auth.agencyRegistry.key }}
{{- end }}
{{- end }}

{{- define "victim-journey.httpMounts" -}}
{{- if .Values.auth.jwks.existingSecret }}
- name: jwks
  mountPath: /etc/victim-journey/jwks
  readOnly: true
{{- end }}
{{- if .Values.auth.agencyRegistry.existingConfigMap }}
- name: agencies
  mountPath: /etc/victim-journey/agencies
  readOnly: true
{{- end }}
{{- end }}

{{/* The partner APIs, declared once: each is a component name, a values key, a database
and a `python -m` module. Use: include "victim-journey.partnerApis" $ | splitList " " */}}
{{- define "victim-journey.partnerApis" -}}
referral support prosecution flags
{{- end }}
