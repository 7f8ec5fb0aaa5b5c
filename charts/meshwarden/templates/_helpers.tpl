{{/* Chart name, overridable. */}}
{{- define "meshwarden.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: the Service, Deployment, webhook configurations and RBAC objects carry it.
"meshwarden" for a release called meshwarden, "<release>-meshwarden" otherwise.
*/}}
{{- define "meshwarden.fullname" -}}
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

{{- define "meshwarden.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "meshwarden.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshwarden.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "meshwarden.labels" -}}
helm.sh/chart: {{ include "meshwarden.chart" . }}
{{ include "meshwarden.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: meshwarden
{{- end }}

{{- define "meshwarden.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "meshwarden.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Names the running controller is told about; RBAC grants writes to exactly these. */}}
{{- define "meshwarden.serviceName" -}}{{ include "meshwarden.fullname" . }}{{- end }}
{{- define "meshwarden.webhookConfigName" -}}{{ include "meshwarden.fullname" . }}{{- end }}
{{- define "meshwarden.leaseName" -}}{{ include "meshwarden.fullname" . }}-leader{{- end }}

{{- define "meshwarden.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "existing-secret" }}
{{- required "certificates.existingSecret.name is required when certificates.mode is existing-secret" .Values.certificates.existingSecret.name }}
{{- else }}
{{- include "meshwarden.fullname" . }}-tls
{{- end }}
{{- end }}

{{/* The policy ConfigMap name is fixed by the contract: the controller looks for it by name. */}}
{{- define "meshwarden.policyConfigMapName" -}}meshwarden-policy{{- end }}

{{/*
The label that routes policy ConfigMaps to the policy webhook where matchConditions are not
available. The chart's own ConfigMap always carries it, so nothing changes when the cluster is
upgraded past 1.28.
*/}}
{{- define "meshwarden.policyLabelKey" -}}meshwarden.io/policy{{- end }}
{{- define "meshwarden.policyLabelValue" -}}true{{- end }}

{{/*
"true" when the target Kubernetes has webhook matchConditions on by default (beta and enabled from
1.28). 1.27 knows the field only behind an alpha gate and would drop it silently, sending every
ConfigMap write to a webhook that may fail closed. `helm template` without --kube-version asks
Helm's built-in default, which is older than 1.28 in Helm before 3.13.
*/}}
{{- define "meshwarden.matchConditionsSupported" -}}
{{- if semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version }}true{{ end }}
{{- end }}

{{- define "meshwarden.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* failurePolicy Ignore lets a request through when meshwarden cannot answer in time; Fail denies it. */}}
{{- define "meshwarden.onTimeout" -}}
{{- if eq . "Ignore" }}allow{{ else }}deny{{ end }}
{{- end }}

{{/* Certificate modes as the controller names them. */}}
{{- define "meshwarden.certMode" -}}
{{- if eq .Values.certificates.mode "self-managed" }}self-managed{{ else }}external{{ end }}
{{- end }}

{{/*
Namespaces neither main webhook is called for: the ones the API server itself depends on, the
release namespace (so meshwarden never blocks its own recovery), and the policy's exclusions.
*/}}
{{- define "meshwarden.excludedNamespaces" -}}
{{- $base := list "kube-system" "kube-node-lease" .Release.Namespace }}
{{- $all := concat $base (.Values.policy.excludedNamespaces | default list) .Values.webhooks.excludeNamespaces }}
{{- toJson (uniq $all) }}
{{- end }}

{{- define "meshwarden.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range (include "meshwarden.excludedNamespaces" . | fromJsonArray) }}
        - {{ . | quote }}
        {{- end }}
    - key: meshwarden.io/enforce
      operator: NotIn
      values: ["disabled"]
{{- end }}

{{/*
Rules for the kinds of CONTRACT §3, one per API group, every version named. The mutating webhook
sees them to add injection markers and stamp meshwarden.io/last-weight-change; the validating
webhook to enforce the policy. Never "*": the API server would send every kind.
*/}}
{{- define "meshwarden.webhookRules" -}}
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
# Argo Rollouts' pods come from the Rollout's own ReplicaSets, never through a Deployment.
- apiGroups: ["argoproj.io"]
  apiVersions: ["v1alpha1"]
  resources: ["rollouts"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["split.smi-spec.io"]
  apiVersions: ["v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"]
  resources: ["trafficsplits"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["networking.istio.io"]
  apiVersions: ["v1", "v1beta1", "v1alpha3"]
  resources: ["virtualservices"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["gateway.solo.io"]
  apiVersions: ["v1"]
  resources: ["virtualservices", "routetables"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1", "v1beta1"]
  resources: ["httproutes"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1"]
  resources: ["grpcroutes"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["gateway.networking.k8s.io"]
  apiVersions: ["v1alpha2"]
  resources: ["tcproutes", "tlsroutes", "udproutes"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["policy.linkerd.io"]
  apiVersions: ["v1beta1", "v1beta2", "v1beta3"]
  resources: ["httproutes"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["serving.knative.dev"]
  apiVersions: ["v1"]
  resources: ["services", "routes"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["appmesh.k8s.aws"]
  apiVersions: ["v1beta2"]
  resources: ["virtualrouters"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["consul.hashicorp.com"]
  apiVersions: ["v1alpha1"]
  resources: ["servicesplitters"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
# Controllers' own settings: Canary steps and Rollout setWeight steps are bounded by the policy.
- apiGroups: ["flagger.app"]
  apiVersions: ["v1beta1"]
  resources: ["canaries"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
- apiGroups: ["argoproj.io"]
  apiVersions: ["v1alpha1"]
  resources: ["rollouts"]
  operations: ["CREATE", "UPDATE"]
  scope: Namespaced
{{- end }}

{{/*
clientConfig of every webhook entry. caBundle is templated only for an existing Secret: in
self-managed mode the controller writes it, in cert-manager mode cainjector does.
*/}}
{{- define "meshwarden.clientConfig" -}}
{{- $root := index . 0 }}
{{- $path := index . 1 }}
clientConfig:
  service:
    name: {{ include "meshwarden.serviceName" $root }}
    namespace: {{ $root.Release.Namespace }}
    path: {{ $path }}
    port: 443
  {{- if eq $root.Values.certificates.mode "existing-secret" }}
  caBundle: {{ required "certificates.existingSecret.caBundle (PEM) is required when certificates.mode is existing-secret" $root.Values.certificates.existingSecret.caBundle | b64enc }}
  {{- end }}
{{- end }}

{{- define "meshwarden.webhookAnnotations" -}}
{{- if eq .Values.certificates.mode "cert-manager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" .Release.Namespace (include "meshwarden.fullname" .) }}
{{- end }}
{{- end }}

{{/*
Native routing kinds the reconciler writes (CONTRACT §7), by mesh. "auto" may pick any of them.
Output: JSON list of {group, resources}.
*/}}
{{- define "meshwarden.routeWriteRules" -}}
{{- $byMesh := dict
  "istio" (list (dict "group" "networking.istio.io" "resources" (list "virtualservices")))
  "linkerd" (list (dict "group" "gateway.networking.k8s.io" "resources" (list "httproutes")))
  "kuma" (list (dict "group" "gateway.networking.k8s.io" "resources" (list "httproutes")))
  "gateway-api" (list (dict "group" "gateway.networking.k8s.io" "resources" (list "httproutes")))
  "consul" (list (dict "group" "consul.hashicorp.com" "resources" (list "servicesplitters" "servicedefaults")))
  "appmesh" (list (dict "group" "appmesh.k8s.aws" "resources" (list "virtualrouters" "virtualservices" "virtualnodes")))
  "gloo" (list (dict "group" "gateway.solo.io" "resources" (list "virtualservices" "routetables")))
  "osm" (list)
}}
{{- $mesh := .Values.policy.mesh | default "auto" }}
{{- if eq $mesh "auto" }}
{{- toJson (list
  (dict "group" "networking.istio.io" "resources" (list "virtualservices"))
  (dict "group" "gateway.networking.k8s.io" "resources" (list "httproutes"))
  (dict "group" "consul.hashicorp.com" "resources" (list "servicesplitters" "servicedefaults"))
  (dict "group" "appmesh.k8s.aws" "resources" (list "virtualrouters" "virtualservices" "virtualnodes"))
  (dict "group" "gateway.solo.io" "resources" (list "virtualservices" "routetables"))
) }}
{{- else }}
{{- toJson (get $byMesh $mesh) }}
{{- end }}
{{- end }}

{{/* Pod labels and annotations that keep every mesh's injector away from meshwarden's own pods. */}}
{{- define "meshwarden.meshOptOutLabels" -}}
sidecar.istio.io/inject: "false"
kuma.io/sidecar-injection: disabled
{{- end }}
{{- define "meshwarden.meshOptOutAnnotations" -}}
linkerd.io/inject: disabled
consul.hashicorp.com/connect-inject: "false"
appmesh.k8s.aws/sidecarInjectorWebhook: disabled
openservicemesh.io/sidecar-injection: disabled
{{- end }}
