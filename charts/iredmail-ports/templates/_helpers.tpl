{{/* Names, labels and the few values several templates share. */}}

{{- define "iredmail-ports.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, at most 63 characters (a DNS label, as Service names must be). */}}
{{- define "iredmail-ports.fullname" -}}
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

{{- define "iredmail-ports.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "iredmail-ports.selectorLabels" -}}
app.kubernetes.io/name: {{ include "iredmail-ports.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "iredmail-ports.labels" -}}
helm.sh/chart: {{ include "iredmail-ports.chart" . }}
{{ include "iredmail-ports.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "iredmail-ports.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "iredmail-ports.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "iredmail-ports.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The Secret holding the serving certificate (tls.crt, tls.key; ca.crt when generated). */}}
{{- define "iredmail-ports.tlsSecretName" -}}
{{- printf "%s-tls" (include "iredmail-ports.fullname" .) }}
{{- end }}

{{/*
cert-manager mode: the Certificate whose CA the injector copies into the webhook's caBundle.
With the chart's own CA that is the CA Certificate, so that renewing the serving certificate
never changes what the API server trusts; with an issuer of yours, the serving Certificate,
whose Secret's ca.crt is that issuer's CA.
*/}}
{{- define "iredmail-ports.caCertificateName" -}}
{{- if .Values.tls.certManager.issuerRef.name }}
{{- include "iredmail-ports.fullname" . }}
{{- else }}
{{- printf "%s-ca" (include "iredmail-ports.fullname" .) }}
{{- end }}
{{- end }}

{{/* The names the API server may use for the Service; the certificate must carry them all. */}}
{{- define "iredmail-ports.dnsNames" -}}
{{- $service := include "iredmail-ports.fullname" . }}
{{- $namespace := .Release.Namespace }}
{{- list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.%s" $service $namespace .Values.tls.clusterDomain) | toJson }}
{{- end }}

{{- define "iredmail-ports.catalogueConfigMap" -}}
{{- default (printf "%s-catalogue" (include "iredmail-ports.fullname" .)) .Values.catalogue.existingConfigMap }}
{{- end }}

{{- define "iredmail-ports.configConfigMap" -}}
{{- default (printf "%s-config" (include "iredmail-ports.fullname" .)) .Values.config.existingConfigMap }}
{{- end }}

{{/* Whether a settings file (catalogue or config) is given, inline or as a ConfigMap. */}}
{{- define "iredmail-ports.hasCatalogue" -}}
{{- if or .Values.catalogue.content .Values.catalogue.existingConfigMap }}true{{ end }}
{{- end }}

{{- define "iredmail-ports.hasConfig" -}}
{{- if or .Values.config.content .Values.config.existingConfigMap }}true{{ end }}
{{- end }}

{{/* Whether the chart installs the webhook (`serve` pods, Service, webhook configuration,
certificate) and whether it installs the ValidatingAdmissionPolicies. */}}
{{- define "iredmail-ports.webhookEnabled" -}}
{{- if ne .Values.admission.mode "policy" }}true{{ end }}
{{- end }}

{{- define "iredmail-ports.policyEnabled" -}}
{{- if ne .Values.admission.mode "webhook" }}true{{ end }}
{{- end }}

{{/* The namespaces judged, as JSON: `webhook.namespaceSelector` plus
`kubernetes.io/metadata.name NotIn` the release namespace, `webhook.excludedNamespaces` and
`always` (names no value can bring back). Shared by the webhook and the policy bindings, so
both judge the same namespaces. */}}
{{- define "iredmail-ports.namespaceSelector" -}}
{{- $root := .root }}
{{- $selector := deepCopy (default (dict) $root.Values.webhook.namespaceSelector) }}
{{- $excluded := concat (list $root.Release.Namespace) $root.Values.webhook.excludedNamespaces .always | uniq }}
{{- $notIn := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" $excluded }}
{{- $_ := set $selector "matchExpressions" (append (default (list) $selector.matchExpressions) $notIn) }}
{{- toJson $selector }}
{{- end }}
