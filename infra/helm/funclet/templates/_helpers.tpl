{{/*
The labels every object carries. Installed by Helm, also Helm's own (infra/k8s leaves them out).
*/}}
{{- define "funclet.labels" -}}
app.kubernetes.io/part-of: funclet
{{- if not .Values.kustomize }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}
{{- end -}}

{{/*
The virtual node names, comma-separated: infra/k8s leaves VIRTUAL_NODES for `funclet attach`
to fill in.
*/}}
{{- define "funclet.nodes" -}}
{{- if .Values.kustomize -}}
VIRTUAL_NODES
{{- else -}}
{{- if empty .Values.nodes -}}
{{- fail "nodes: name the virtual nodes (FUNCLET_NODES' names), e.g. --set 'nodes={vk-1}'" -}}
{{- end -}}
{{- join "," .Values.nodes -}}
{{- end -}}
{{- end -}}

{{/* The Secret the relay reads its webhook settings from. */}}
{{- define "funclet.relaySecretName" -}}
{{- default "funclet-relay" .Values.relay.webhook.existingSecret -}}
{{- end -}}

{{/*
Whether this release holds the relay's Secret: when the webhook settings are given as values.
*/}}
{{- define "funclet.relaySecretCreated" -}}
{{- $w := .Values.relay.webhook -}}
{{- if and (not .Values.kustomize) (or $w.url $w.secret $w.functionKey) -}}
{{- if $w.existingSecret -}}
{{- fail "relay.webhook: give existingSecret or url and secret, not both" -}}
{{- end -}}
{{- if not (and $w.url $w.secret) -}}
{{- fail "relay.webhook: url and secret go together (podEvents' URL and the Function App's FUNCLET_WEBHOOK_SECRET)" -}}
{{- end -}}
{{- if contains "?" $w.url -}}
{{- fail "relay.webhook.url carries a query: give the URL without ?code= and the key as relay.webhook.functionKey" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}
