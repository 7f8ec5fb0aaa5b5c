/**
 * AdmissionReviews as kube-apiserver sends them, for the benchmark. Objects carry what a real
 * write carries (managedFields, the last-applied annotation, probes, resources), so their sizes
 * match what a cluster sends.
 */

import { asMutated } from './mutated.js';

type Json = Record<string, unknown>;

export type Endpoint = 'mutate' | 'validate';

export interface Workload {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly description: string;
  readonly body: Buffer;
  /**
   * The body as sent at this moment, for workloads whose objects carry a time (route updates
   * carry the weight-change stamp /mutate wrote just before); `body` otherwise.
   */
  readonly fresh?: () => Promise<Buffer>;
}

let counter = 0;
const uid = (): string => `00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, '0')}`;

export function admissionReview(options: {
  kind: { group: string; version: string; kind: string };
  resource: string;
  object: Json | null;
  oldObject?: Json | null;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  namespace?: string;
}): Json {
  const meta = (options.object ?? options.oldObject ?? {}).metadata as Json | undefined;
  const operation = options.operation ?? (options.oldObject ? 'UPDATE' : 'CREATE');
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: uid(),
      kind: options.kind,
      resource: {
        group: options.kind.group,
        version: options.kind.version,
        resource: options.resource,
      },
      requestKind: options.kind,
      requestResource: {
        group: options.kind.group,
        version: options.kind.version,
        resource: options.resource,
      },
      name: meta?.name,
      namespace: options.namespace ?? meta?.namespace ?? 'shop',
      operation,
      userInfo: {
        username: 'system:serviceaccount:argocd:argocd-application-controller',
        uid: 'b8d1b0a0-5c2e-4d7b-9f5e-2f6c2d6e8a11',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
      },
      object: options.object,
      oldObject: options.oldObject ?? null,
      dryRun: false,
      options: {
        apiVersion: 'meta.k8s.io/v1',
        kind: operation === 'UPDATE' ? 'UpdateOptions' : 'CreateOptions',
        fieldManager: 'argocd-controller',
      },
    },
  };
}

function container(name: string, image: string, envCount: number): Json {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    args: ['--port=9080', '--log-level=info', `--service-name=${name}`],
    ports: [
      { name: 'http', containerPort: 9080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: Array.from({ length: envCount }, (_, i) => ({
      name: `FEATURE_FLAG_${i.toString().padStart(4, '0')}`,
      value: i % 3 === 0 ? 'enabled' : `https://config.shop.svc.cluster.local/flags/${i}`,
    })),
    resources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '256Mi' },
    },
    readinessProbe: {
      httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

/**
 * A Deployment with app and version labels but no injection marker (so /mutate adds one).
 * `envCount` pads the first container: 10 gives about 6 KB of AdmissionReview.
 */
export function deployment(name: string, envCount = 10): Json {
  const labels = { app: 'reviews', version: 'v2', 'app.kubernetes.io/part-of': 'shop' };
  const spec = {
    replicas: 3,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    selector: { matchLabels: { app: 'reviews', version: 'v2' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: {
        labels,
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
      },
      spec: {
        serviceAccountName: 'bookinfo-reviews',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: { fsGroup: 2000 },
        containers: [
          container('reviews', 'docker.io/istio/examples-bookinfo-reviews-v2:1.20.3', envCount),
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    },
  };
  const object: Json = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: 'shop',
      labels,
      annotations: {
        'argocd.argoproj.io/tracking-id': `shop:apps/Deployment:shop/${name}`,
      },
      managedFields: [
        {
          manager: 'argocd-controller',
          operation: 'Apply',
          apiVersion: 'apps/v1',
          time: '2026-11-20T09:12:44Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app': {}, 'f:version': {} } },
            'f:spec': {
              'f:replicas': {},
              'f:selector': {},
              'f:template': {
                'f:metadata': { 'f:labels': { 'f:app': {}, 'f:version': {} } },
                'f:spec': {
                  'f:containers': { 'k:{"name":"reviews"}': { '.': {}, 'f:image': {} } },
                },
              },
            },
          },
        },
      ],
    },
    spec,
  };
  return object;
}

/** A Deployment as small as `kubectl create deployment` makes it: about 1 KB of review. */
export function minimalDeployment(name: string): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, version: 'v1' } },
        spec: { containers: [{ name, image: `example.com/${name}:1.0.0` }] },
      },
    },
  };
}

/**
 * A Deployment whose AdmissionReview is about `bytes` long (padded with environment entries);
 * below the size of the full Deployment, the minimal one.
 */
export function deploymentOfSize(name: string, bytes: number): Json {
  if (bytes < 2048) return minimalDeployment(name);
  const base = JSON.stringify(admissionReview(deploymentReviewArgs(deployment(name, 0)))).length;
  const perEnv =
    (JSON.stringify(deployment(name, 101)).length - JSON.stringify(deployment(name, 1)).length) /
    100;
  return deployment(name, Math.max(0, Math.round((bytes - base) / perEnv)));
}

function deploymentReviewArgs(object: Json) {
  return {
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: 'deployments',
    object,
  };
}

export function deploymentReview(object: Json): Json {
  return admissionReview(deploymentReviewArgs(object));
}

/** An SMI TrafficSplit (v1alpha4) shifting weight from the first backend to the others. */
export function trafficSplit(backends: number, shift: number): Json {
  const weights = Array.from({ length: backends }, (_, i) => (i === 0 ? 100 - shift : 0));
  // Spread the shifted weight over the canaries, whole numbers summing to 100.
  for (let i = 1, left = shift; i < backends && left > 0; i++) {
    const share = Math.ceil(left / (backends - i));
    weights[i] = share;
    left -= share;
  }
  return {
    apiVersion: 'split.smi-spec.io/v1alpha4',
    kind: 'TrafficSplit',
    metadata: {
      name: 'reviews',
      namespace: 'shop',
      resourceVersion: '48211',
      generation: 7,
      annotations: { 'meshwarden.io/last-weight-change': '2026-11-20T09:00:00Z' },
    },
    spec: {
      service: 'reviews',
      backends: weights.map((weight, i) => ({ service: `reviews-v${i + 1}`, weight })),
    },
  };
}

export function trafficSplitUpdate(backends: number): Json {
  return admissionReview({
    kind: { group: 'split.smi-spec.io', version: 'v1alpha4', kind: 'TrafficSplit' },
    resource: 'trafficsplits',
    oldObject: trafficSplit(backends, 10),
    object: trafficSplit(backends, 20),
  });
}

function virtualService(canaryWeight: number): Json {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'shop', resourceVersion: '51002', generation: 4 },
    spec: {
      hosts: ['reviews', 'reviews.shop.svc.cluster.local'],
      gateways: ['mesh'],
      http: [
        {
          name: 'canary-header',
          match: [{ headers: { 'x-canary': { exact: 'always' } } }],
          route: [{ destination: { host: 'reviews', subset: 'v2' } }],
        },
        {
          name: 'primary',
          retries: { attempts: 3, perTryTimeout: '2s', retryOn: 'gateway-error,connect-failure' },
          timeout: '10s',
          route: [
            {
              destination: { host: 'reviews', subset: 'v1', port: { number: 9080 } },
              weight: 100 - canaryWeight,
            },
            {
              destination: { host: 'reviews', subset: 'v2', port: { number: 9080 } },
              weight: canaryWeight,
            },
          ],
        },
      ],
    },
  };
}

export function virtualServiceUpdate(): Json {
  return admissionReview({
    kind: { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' },
    resource: 'virtualservices',
    oldObject: virtualService(10),
    object: virtualService(20),
  });
}

/** A Gateway API HTTPRoute as Argo Rollouts or Flagger shift it: a canary behind a Gateway. */
function httpRoute(canaryWeight: number): Json {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace: 'shop', resourceVersion: '61220', generation: 9 },
    spec: {
      parentRefs: [{ name: 'public', namespace: 'gateways', sectionName: 'https' }],
      hostnames: ['reviews.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          filters: [
            {
              type: 'RequestHeaderModifier',
              requestHeaderModifier: { set: [{ name: 'x-route', value: 'reviews' }] },
            },
          ],
          backendRefs: [
            {
              group: '',
              kind: 'Service',
              name: 'reviews-stable',
              port: 9080,
              weight: 100 - canaryWeight,
            },
            {
              group: '',
              kind: 'Service',
              name: 'reviews-canary',
              port: 9080,
              weight: canaryWeight,
            },
          ],
        },
      ],
    },
  };
}

export function httpRouteUpdate(): Json {
  return admissionReview({
    kind: { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' },
    resource: 'httproutes',
    oldObject: httpRoute(10),
    object: httpRoute(20),
  });
}

const buffer = (review: Json): Buffer => Buffer.from(JSON.stringify(review));

/** The workloads of the main table, in order. */
export function workloads(): Workload[] {
  const routeUpdate = (name: string, description: string, review: () => Json): Workload => ({
    name,
    endpoint: 'validate',
    description,
    body: buffer(review()),
    fresh: () => asMutated(review()),
  });
  const deploy = buffer(deploymentReview(deployment('reviews-v2', 40)));
  const big = buffer(deploymentReview(deploymentOfSize('reviews-big', 1024 * 1024)));
  return [
    {
      name: 'validate-deployment',
      endpoint: 'validate',
      description: `validate a Deployment (${kb(deploy)})`,
      body: deploy,
    },
    {
      name: 'mutate-deployment',
      endpoint: 'mutate',
      description: `mutate a Deployment, marker added (${kb(deploy)})`,
      body: deploy,
    },
    routeUpdate(
      'validate-trafficsplit-update',
      'validate a TrafficSplit UPDATE (3 backends, +10 points), as /mutate left it',
      () => trafficSplitUpdate(3),
    ),
    routeUpdate(
      'validate-virtualservice-update',
      'validate an Istio VirtualService UPDATE (+10 points), as /mutate left it',
      virtualServiceUpdate,
    ),
    routeUpdate(
      'validate-httproute-update',
      'validate a Gateway API HTTPRoute UPDATE (+10 points), as /mutate left it',
      httpRouteUpdate,
    ),
    {
      name: 'validate-deployment-1mb',
      endpoint: 'validate',
      description: `validate a 1 MB Deployment (${kb(big)})`,
      body: big,
    },
    {
      name: 'mutate-deployment-1mb',
      endpoint: 'mutate',
      description: `mutate a 1 MB Deployment (${kb(big)})`,
      body: big,
    },
    routeUpdate(
      'validate-trafficsplit-50',
      'validate a TrafficSplit UPDATE with 50 backends, as /mutate left it',
      () => trafficSplitUpdate(50),
    ),
  ];
}

export function kb(body: Buffer): string {
  return body.length >= 1024 * 1024
    ? `${(body.length / 1024 / 1024).toFixed(2)} MB`
    : `${(body.length / 1024).toFixed(1)} KB`;
}

export { buffer as reviewBody };
