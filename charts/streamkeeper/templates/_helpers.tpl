{{/*
Names, labels and derived settings shared by every template, so that the operator's flags, its
RBAC and the ZooKeeper objects agree on one set of names.
*/}}

{{- define "streamkeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object-name prefix: the release name, plus the chart name unless the release name has it. */}}
{{- define "streamkeeper.fullname" -}}
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

{{- define "streamkeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of the chart. The job pods the operator creates carry
app.kubernetes.io/managed-by=streamkeeper-operator and component driver|executor, so selectors
below always include the component and never match them.
*/}}
{{- define "streamkeeper.labels" -}}
helm.sh/chart: {{ include "streamkeeper.chart" . }}
{{ include "streamkeeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: streamkeeper
{{- end }}

{{- define "streamkeeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "streamkeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: include with (dict "ctx" $ "component" "operator"). */}}
{{- define "streamkeeper.componentLabels" -}}
{{ include "streamkeeper.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "streamkeeper.componentSelectorLabels" -}}
{{ include "streamkeeper.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "streamkeeper.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "streamkeeper.operatorServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "streamkeeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "streamkeeper.jobServiceAccountName" -}}
{{- default (printf "%s-job" (include "streamkeeper.fullname" .)) .Values.jobServiceAccount.name }}
{{- end }}

{{/* Namespaces that receive the job ServiceAccount, as a JSON list. */}}
{{- define "streamkeeper.jobServiceAccountNamespaces" -}}
{{- $namespaces := .Values.jobServiceAccount.namespaces }}
{{- if not $namespaces }}
{{- if and .Values.rbac.namespaced .Values.watchNamespaces }}
{{- $namespaces = .Values.watchNamespaces }}
{{- else }}
{{- $namespaces = list .Release.Namespace }}
{{- end }}
{{- end }}
{{- $namespaces | uniq | toJson }}
{{- end }}

{{- define "streamkeeper.zookeeperFullname" -}}
{{- printf "%s-zookeeper" (include "streamkeeper.fullname" .) | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "streamkeeper.zookeeperHeadless" -}}
{{- printf "%s-headless" (include "streamkeeper.zookeeperFullname" .) }}
{{- end }}

{{/* Whether the chart deploys its own ensemble. */}}
{{- define "streamkeeper.zookeeperEnabled" -}}
{{- if not .Values.zookeeper.external.connect }}true{{ end }}
{{- end }}

{{/* The connect string: the external ensemble, or every server of ours by its stable DNS name. */}}
{{- define "streamkeeper.zkConnect" -}}
{{- if .Values.zookeeper.external.connect }}
{{- .Values.zookeeper.external.connect }}
{{- else }}
{{- $name := include "streamkeeper.zookeeperFullname" . }}
{{- $headless := include "streamkeeper.zookeeperHeadless" . }}
{{- $servers := list }}
{{- range $i := until (int .Values.zookeeper.replicas) }}
{{- $servers = append $servers (printf "%s-%d.%s.%s.svc:2181" $name $i $headless $.Release.Namespace) }}
{{- end }}
{{- join "," $servers }}
{{- end }}
{{- end }}

{{- define "streamkeeper.zkCredentialsSecretName" -}}
{{- default (printf "%s-zk-credentials" (include "streamkeeper.fullname" .)) .Values.zookeeper.auth.existingSecret }}
{{- end }}

{{/*
What the operator may do in a namespace where it manages jobs. Least privilege: it creates each
job's ZooKeeper credential Secret and deletes it, and never reads any Secret.
*/}}
{{- define "streamkeeper.operatorRules" -}}
- apiGroups: ["streamkeeper.io"]
  resources: ["streamingjobs"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["streamkeeper.io"]
  resources: ["streamingjobs/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["streamkeeper.io"]
  resources: ["streamingjobs/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* Settings that cannot be expressed in values.schema.json, checked once. */}}
{{- define "streamkeeper.validate" -}}
{{- if and .Values.rbac.namespaced (not .Values.watchNamespaces) }}
{{- fail "rbac.namespaced=true needs watchNamespaces: the operator is only granted rights in the namespaces listed there" }}
{{- end }}
{{- if and (not .Values.operator.leaderElection.enabled) (gt (int .Values.operator.replicas) 1) }}
{{- fail "operator.leaderElection.enabled=false allows only operator.replicas=1: without a Lease every replica would reconcile" }}
{{- end }}
{{- if and .Values.zookeeper.auth.insecureOpenAcl .Values.zookeeper.auth.existingSecret }}
{{- fail "zookeeper.auth.insecureOpenAcl=true uses no credential: unset zookeeper.auth.existingSecret" }}
{{- end }}
{{- end }}
