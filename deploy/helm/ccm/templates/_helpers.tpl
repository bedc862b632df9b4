{{/* Labels every object carries; `component` names the part (controller, node-proxy, rbac). */}}
{{- define "ccm.labels" -}}
app.kubernetes.io/name: ccm
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ccm.selector" -}}
app.kubernetes.io/name: ccm
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "ccm.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "ccm.leaseNamespace" -}}
{{ .Values.controller.leaderElection.namespace | default .Release.Namespace }}
{{- end }}

{{/*
"true" when the controller `name` (canonical name first, then its aliases) is enabled by the
--controllers list, with upstream semantics: the first entry naming it wins ("x" on, "-x" off);
with none, "*" turns it on; without "*" it is off.
*/}}
{{- define "ccm.controllerEnabled" -}}
{{- $names := .names -}}
{{- $verdict := "" -}}
{{- $star := false -}}
{{- range .list -}}
{{- if not $verdict -}}
{{- if has . $names -}}{{- $verdict = "true" -}}
{{- else if and (hasPrefix "-" .) (has (trimPrefix "-" .) $names) -}}{{- $verdict = "false" -}}
{{- else if eq . "*" -}}{{- $star = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $verdict | default (ternary "true" "false" $star) -}}
{{- end }}

{{- define "ccm.serviceControllerEnabled" -}}
{{- include "ccm.controllerEnabled" (dict "names" (list "service-lb-controller" "service") "list" .Values.controllers) -}}
{{- end }}

{{/* The orphan sweep has its own role, so --controllers=orphan-gc alone can run. */}}
{{- define "ccm.orphanControllerEnabled" -}}
{{- include "ccm.controllerEnabled" (dict "names" (list "orphan-gc-controller" "orphan-gc") "list" .Values.controllers) -}}
{{- end }}

{{/* RBAC for the node controllers is needed when either of them runs. */}}
{{- define "ccm.nodeControllersEnabled" -}}
{{- $node := include "ccm.controllerEnabled" (dict "names" (list "cloud-node-controller" "cloud-node") "list" .Values.controllers) -}}
{{- $life := include "ccm.controllerEnabled" (dict "names" (list "cloud-node-lifecycle-controller" "cloud-node-lifecycle") "list" .Values.controllers) -}}
{{- ternary "true" "false" (or (eq $node "true") (eq $life "true")) -}}
{{- end }}

{{/* The node proxy's health port: never kube-proxy's 10256 while kube-proxy runs beside it. */}}
{{- define "ccm.nodeProxyHealthzPort" -}}
{{- $port := .Values.nodeProxy.healthzPort | default (ternary 10256 10266 .Values.nodeProxy.replacesKubeProxy) | int -}}
{{- if and (eq $port 10256) (not .Values.nodeProxy.replacesKubeProxy) -}}
{{- fail "nodeProxy.healthzPort 10256 is kube-proxy's: pick another port, or set nodeProxy.replacesKubeProxy=true on clusters without kube-proxy" -}}
{{- end -}}
{{- $port -}}
{{- end }}

{{- define "ccm.nodeProxyPrivileged" -}}
{{- if not (has .Values.nodeProxy.mode (list "nftables" "userspace" "auto")) -}}
{{- fail (printf "nodeProxy.mode must be nftables, userspace or auto, not %q" .Values.nodeProxy.mode) -}}
{{- end -}}
{{- ternary "true" "false" (ne .Values.nodeProxy.mode "userspace") -}}
{{- end }}

{{- define "ccm.cloudConfigSecret" -}}
{{- if .Values.cloudConfig.existingSecret -}}
{{ .Values.cloudConfig.existingSecret }}
{{- else if .Values.cloudConfig.content -}}
cloud-controller-manager-cloud-config
{{- end -}}
{{- end }}
