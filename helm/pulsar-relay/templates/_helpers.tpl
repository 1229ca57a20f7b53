{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "pulsar-relay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full resource name prefix: <release>-pulsar-relay unless the release already contains it. */}}
{{- define "pulsar-relay.fullname" -}}
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

{{- define "pulsar-relay.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every resource. */}}
{{- define "pulsar-relay.labels" -}}
helm.sh/chart: {{ include "pulsar-relay.chart" . }}
app.kubernetes.io/name: {{ include "pulsar-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pulsar-relay
{{- end }}

{{/* Selector of the relay pods (immutable: never add to it). */}}
{{- define "pulsar-relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pulsar-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: relay
{{- end }}

{{/* Selector of the bundled Valkey pod. */}}
{{- define "pulsar-relay.valkey.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pulsar-relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: valkey
{{- end }}

{{- define "pulsar-relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "pulsar-relay.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "pulsar-relay.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Storage backend, lower-cased ("valkey" or "memory"). */}}
{{- define "pulsar-relay.backend" -}}
{{- $storage := .Values.config.storage | default dict }}
{{- (get $storage "backend") | default "memory" | toString | lower }}
{{- end }}

{{/* "true" when the relays use Valkey. */}}
{{- define "pulsar-relay.usesValkey" -}}
{{- if eq (include "pulsar-relay.backend" .) "valkey" }}true{{ end }}
{{- end }}

{{/* "true" when the chart deploys its own Valkey StatefulSet. */}}
{{- define "pulsar-relay.valkey.bundled" -}}
{{- if and (include "pulsar-relay.usesValkey" .) .Values.valkey.enabled (not .Values.valkey.external.host) }}true{{ end }}
{{- end }}

{{- define "pulsar-relay.valkey.fullname" -}}
{{- printf "%s-valkey" (include "pulsar-relay.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Host and port the relays connect to. */}}
{{- define "pulsar-relay.valkey.host" -}}
{{- if .Values.valkey.external.host }}
{{- .Values.valkey.external.host }}
{{- else }}
{{- printf "%s.%s.svc" (include "pulsar-relay.valkey.fullname" .) .Release.Namespace }}
{{- end }}
{{- end }}

{{- define "pulsar-relay.valkey.port" -}}
{{- if .Values.valkey.external.host }}{{ .Values.valkey.external.port | int }}{{ else }}6379{{ end }}
{{- end }}

{{/* The Secret holding the JWT key, admin password and Valkey password. */}}
{{- define "pulsar-relay.secretName" -}}
{{- .Values.auth.existingSecret | default (include "pulsar-relay.fullname" .) }}
{{- end }}

{{/*
Minimum number of relay pods the release guarantees (HPA minReplicas or replicaCount).
*/}}
{{- define "pulsar-relay.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/*
The relay configuration file: the user's `config` with the chart-managed keys on top.
*/}}
{{- define "pulsar-relay.configFile" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $managed := dict "server" (dict "host" "0.0.0.0" "http_port" 8080 "shutdown_grace" (.Values.gracefulShutdown.drainSeconds | int)) }}
{{- if include "pulsar-relay.usesValkey" . }}
{{- $valkey := dict "host" (include "pulsar-relay.valkey.host" .) "port" (include "pulsar-relay.valkey.port" . | int) }}
{{- if .Values.valkey.external.host }}
{{- $_ := set $valkey "use_tls" (.Values.valkey.external.tls | default false) }}
{{- if .Values.valkey.external.username }}
{{- $_ := set $valkey "username" .Values.valkey.external.username }}
{{- end }}
{{- else }}
{{- $_ := set $valkey "use_tls" false }}
{{- end }}
{{- $_ := set $managed "valkey" $valkey }}
{{- end }}
{{- $merged := mustMergeOverwrite $config $managed }}
{{- /* Kubelet probes send "Host: localhost" (see the Deployment): keep them trusted. */}}
{{- $hosts := get $merged.server "trusted_hosts" }}
{{- if and (kindIs "slice" $hosts) (not (has "*" $hosts)) (not (has "localhost" $hosts)) }}
{{- $_ := set $merged.server "trusted_hosts" (append $hosts "localhost") }}
{{- end }}
{{- toYaml $merged }}
{{- end }}

{{/*
Refuse configurations that cannot work. Included by the Deployment so that `helm template`,
`helm install` and `helm upgrade` all fail before anything is applied.
*/}}
{{- define "pulsar-relay.validate" -}}
{{- $backend := include "pulsar-relay.backend" . }}
{{- if not (has $backend (list "memory" "valkey")) }}
{{- fail (printf "pulsar-relay: config.storage.backend must be \"valkey\" or \"memory\", got %q." $backend) }}
{{- end }}
{{- if eq $backend "memory" }}
{{- if gt (.Values.replicaCount | int) 1 }}
{{- fail (printf "pulsar-relay: config.storage.backend=memory cannot run more than one replica (replicaCount=%d): each pod would hold its own messages and users. Set replicaCount=1, or use config.storage.backend=valkey to scale out." (.Values.replicaCount | int)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "pulsar-relay: config.storage.backend=memory cannot run more than one replica, so autoscaling.enabled must be false. Use config.storage.backend=valkey to autoscale." }}
{{- end }}
{{- end }}
{{- if and (eq $backend "valkey") (not .Values.valkey.enabled) (not .Values.valkey.external.host) }}
{{- fail "pulsar-relay: config.storage.backend=valkey needs a Valkey: keep valkey.enabled=true (bundled) or set valkey.external.host." }}
{{- end }}
{{- if and (eq $backend "valkey") .Values.valkey.external.host (not .Values.auth.existingSecret) (not .Values.valkey.external.password) }}
{{- fail "pulsar-relay: an external Valkey needs a password (production mode refuses Valkey without one): set valkey.external.password or provide it in auth.existingSecret." }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- if gt (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int) }}
{{- fail (printf "pulsar-relay: autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d)." (.Values.autoscaling.minReplicas | int) (.Values.autoscaling.maxReplicas | int)) }}
{{- end }}
{{- end }}
{{- $drain := .Values.gracefulShutdown.drainSeconds | int }}
{{- $sleep := .Values.gracefulShutdown.preStopSleepSeconds | int }}
{{- if le (.Values.terminationGracePeriodSeconds | int) (add $drain $sleep) }}
{{- fail (printf "pulsar-relay: terminationGracePeriodSeconds (%d) must be greater than gracefulShutdown.preStopSleepSeconds + drainSeconds (%d + %d), or pods are killed in the middle of the WebSocket drain." (.Values.terminationGracePeriodSeconds | int) $sleep $drain) }}
{{- end }}
{{- $auth := get (.Values.config | default dict) "auth" | default dict }}
{{- $vk := get (.Values.config | default dict) "valkey" | default dict }}
{{- if or (hasKey $auth "jwt_secret_key") (hasKey $auth "bootstrap_admin_password") (hasKey $vk "password") }}
{{- fail "pulsar-relay: secrets do not belong in config (it is a ConfigMap): use auth.jwtSecret, auth.adminPassword, valkey.auth.password / valkey.external.password, or auth.existingSecret." }}
{{- end }}
{{- if and .Values.auth.jwtSecret (lt (len (toString .Values.auth.jwtSecret)) 32) }}
{{- fail "pulsar-relay: auth.jwtSecret must be at least 32 characters (production mode refuses shorter keys); leave it empty to generate one." }}
{{- end }}
{{- end }}
