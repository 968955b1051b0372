{{/*
Names, labels and the environment shared by the templates.
Component templates are called with (dict "root" $ "component" "api"|"delivery"|"log"|...).
*/}}

{{- define "outpost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-outpost, or <release> when it already contains the chart name; at most 52
characters so "-delivery", "-postgres" and "-rabbitmq" suffixes fit in 63. */}}
{{- define "outpost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "outpost.componentName" -}}
{{- printf "%s-%s" (include "outpost.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "outpost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "outpost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outpost.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "outpost.commonLabels" -}}
helm.sh/chart: {{ include "outpost.chart" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: outpost
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Labels of an object that belongs to one component. */}}
{{- define "outpost.labels" -}}
{{ include "outpost.selectorLabels" . }}
{{ include "outpost.commonLabels" .root }}
{{- end }}

{{/* Labels of an object shared by every component (ConfigMap, Secret, ServiceAccount). */}}
{{- define "outpost.sharedLabels" -}}
app.kubernetes.io/name: {{ include "outpost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "outpost.commonLabels" . }}
{{- end }}

{{- define "outpost.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "outpost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "outpost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Name of the Secret the outpost containers load: the operator's or the chart's. */}}
{{- define "outpost.secretName" -}}
{{- default (include "outpost.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* A value as an environment string: whole numbers without an exponent (values files give
Helm float64s), booleans as true/false, strings unchanged. */}}
{{- define "outpost.envString" -}}
{{- if kindIs "float64" . }}
{{- if eq . (floor .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if kindIs "invalid" . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{- define "outpost.devRedisHost" -}}
{{- include "outpost.componentName" (dict "root" . "component" "redis") }}
{{- end }}

{{- define "outpost.devPostgresUrl" -}}
{{- $p := .Values.dev.postgres }}
{{- printf "postgres://%s:%s@%s:5432/%s" $p.username $p.password (include "outpost.componentName" (dict "root" . "component" "postgres")) $p.database }}
{{- end }}

{{- define "outpost.devRabbitmqUrl" -}}
{{- $r := .Values.dev.rabbitmq }}
{{- printf "amqp://%s:%s@%s:5672/%%2f" $r.username $r.password (include "outpost.componentName" (dict "root" . "component" "rabbitmq")) }}
{{- end }}

{{/* Plain settings of the ConfigMap, as a YAML map of environment name -> string. */}}
{{- define "outpost.configEnv" -}}
{{- $env := dict "LOG_LEVEL" .Values.logLevel }}
{{- with .Values.deploymentId }}{{ $_ := set $env "DEPLOYMENT_ID" . }}{{ end }}
{{- with .Values.topics }}{{ $_ := set $env "TOPICS" (join "," .) }}{{ end }}
{{- $redisHost := .Values.redis.host }}
{{- if and (not $redisHost) .Values.dev.redis.enabled }}
{{- $redisHost = include "outpost.devRedisHost" . }}
{{- end }}
{{- if $redisHost }}
{{- $_ := set $env "REDIS_HOST" $redisHost }}
{{- $_ := set $env "REDIS_PORT" (include "outpost.envString" .Values.redis.port) }}
{{- $_ := set $env "REDIS_DATABASE" (include "outpost.envString" .Values.redis.database) }}
{{- $_ := set $env "REDIS_TLS_ENABLED" (include "outpost.envString" .Values.redis.tlsEnabled) }}
{{- with .Values.redis.username }}{{ $_ := set $env "REDIS_USERNAME" . }}{{ end }}
{{- end }}
{{- with .Values.opentelemetry }}{{ if .enabled }}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_ENDPOINT" .endpoint }}
{{- $_ := set $env "OTEL_EXPORTER_OTLP_PROTOCOL" .protocol }}
{{- end }}{{ end }}
{{- range $k, $v := .Values.config }}
{{- $_ := set $env $k (include "outpost.envString" $v) }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/* Credentials of the chart's Secret, as a YAML map of environment name -> string (empty
values left out). */}}
{{- define "outpost.secretEnv" -}}
{{- $s := .Values.secrets }}
{{- $env := dict }}
{{- $pairs := list
  (list "API_KEY" $s.apiKey)
  (list "API_JWT_SECRET" $s.apiJwtSecret)
  (list "AES_ENCRYPTION_SECRET" $s.aesEncryptionSecret)
  (list "REDIS_PASSWORD" $s.redisPassword)
  (list "POSTGRES_URL" (include "outpost.postgresUrl" .))
  (list "RABBITMQ_SERVER_URL" (include "outpost.rabbitmqUrl" .))
  (list "LOG_GRPC_TOKEN" $s.logGrpcToken) }}
{{- range $pairs }}
{{- if index . 1 }}{{ $_ := set $env (index . 0) (index . 1) }}{{ end }}
{{- end }}
{{- range $k, $v := $s.extra }}
{{- $_ := set $env $k (include "outpost.envString" $v) }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{- define "outpost.postgresUrl" -}}
{{- if .Values.secrets.postgresUrl }}
{{- .Values.secrets.postgresUrl }}
{{- else if .Values.dev.postgres.enabled }}
{{- include "outpost.devPostgresUrl" . }}
{{- end }}
{{- end }}

{{- define "outpost.rabbitmqUrl" -}}
{{- if .Values.secrets.rabbitmqServerUrl }}
{{- .Values.secrets.rabbitmqServerUrl }}
{{- else if .Values.dev.rabbitmq.enabled }}
{{- include "outpost.devRabbitmqUrl" . }}
{{- end }}
{{- end }}

{{/* "true" when the migration Job should run. */}}
{{- define "outpost.runMigration" -}}
{{- if and .Values.migration.enabled (or .Values.existingSecret (include "outpost.postgresUrl" .)) }}true{{ end }}
{{- end }}

{{/* Render-time checks of combinations the schema cannot express. */}}
{{- define "outpost.validate" -}}
{{- if and .Values.existingSecret (or .Values.dev.postgres.enabled .Values.dev.rabbitmq.enabled) }}
{{- fail "dev.postgres / dev.rabbitmq put their URLs in the chart's Secret: they cannot be combined with existingSecret" }}
{{- end }}
{{- range $component := list "api" "delivery" "log" }}
{{- $a := (index $.Values $component).autoscaling }}
{{- if and $a.enabled (gt (int $a.minReplicas) (int $a.maxReplicas)) }}
{{- fail (printf "%s.autoscaling.minReplicas (%d) is greater than maxReplicas (%d)" $component (int $a.minReplicas) (int $a.maxReplicas)) }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) }}
{{- fail "ingress.enabled needs at least one entry in ingress.hosts" }}
{{- end }}
{{- end }}
