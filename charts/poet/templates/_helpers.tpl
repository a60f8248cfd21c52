{{/*
Named templates shared by every manifest. Per-service templates receive a
context dict: {root: $, name: "<service>", s: <merged settings>}.
*/}}

{{/* Chart name, overridable. */}}
{{- define "poet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide name prefix: "<release>-<chart>", or just the release name
when it already contains the chart name (release "poet" gives "poet"). */}}
{{- define "poet.fullname" -}}
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

{{- define "poet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every resource (takes the root context). */}}
{{- define "poet.labels" -}}
helm.sh/chart: {{ include "poet.chart" . }}
app.kubernetes.io/name: {{ include "poet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: poet
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pods of the whole release (takes the root context). */}}
{{- define "poet.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "poet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector of one service's pods (takes the service context). */}}
{{- define "poet.selectorLabels" -}}
{{ include "poet.releaseSelectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of one service's resources (takes the service context). */}}
{{- define "poet.componentLabels" -}}
{{ include "poet.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Name of one service's resources, e.g. "poet-survey". */}}
{{- define "poet.componentName" -}}
{{- printf "%s-%s" (include "poet.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "poet.authConfigMapName" -}}
{{- printf "%s-auth-issuers" (include "poet.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "poet.authIssuersJSON" -}}
{{- toJson .Values.global.auth.issuers -}}
{{- end -}}

{{/*
Fills .out with the service's effective settings: .root.Values.defaults with
services.<name> laid over it, maps merged one level deep. Done by hand with
hasKey because sprig's mergeOverwrite cannot override true with false or a
number with 0.
*/}}
{{- define "poet.settings" -}}
{{- $out := .out -}}
{{- range $k, $v := .root.Values.defaults -}}
{{- $_ := set $out $k (deepCopy $v) -}}
{{- end -}}
{{- range $k, $v := (get .root.Values.services .name) -}}
{{- $base := get $out $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $base) -}}
{{- range $k2, $v2 := $v -}}
{{- $_ := set $base $k2 $v2 -}}
{{- end -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* JSON list of enabled service names, sorted. Per-service templates range
over it and build each context with poet.serviceContext. */}}
{{- define "poet.enabledNames" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Builds the context dict for one service name into .out (root, name, s). */}}
{{- define "poet.serviceContext" -}}
{{- $s := dict -}}
{{- include "poet.settings" (dict "root" .root "name" .name "out" $s) -}}
{{- $_ := set .out "root" .root -}}
{{- $_ := set .out "name" .name -}}
{{- $_ := set .out "s" $s -}}
{{- end -}}

{{/* Image reference: [registry/]repository:tag. Skaffold passes
"<tag>@<digest>" as the tag and leaves the digest empty for images it did not
push, hence the trimmed "@". */}}
{{- define "poet.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $img := .s.image -}}
{{- $tag := (get $img "tag") | default $g.tag | default .root.Chart.AppVersion | toString | trimSuffix "@" -}}
{{- if $g.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $g.registry) $img.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Replicas the service never goes below: HPA minimum or fixed count. */}}
{{- define "poet.minReplicas" -}}
{{- if .s.autoscaling.enabled -}}
{{- .s.autoscaling.minReplicas -}}
{{- else -}}
{{- .s.replicas -}}
{{- end -}}
{{- end -}}
