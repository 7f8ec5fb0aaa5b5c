/**
 * AdmissionReviews as kube-apiserver sends them, for the benchmark. Objects carry what a real
 * write carries (managedFields, the last-applied annotation, probes, resources), so their sizes
 * match what a cluster sends.
 */

import { asMutated } from './mutated.js';
import { admissionReview, type Json } from './review-envelope.js';
import { httpRouteUpdate, trafficSplitUpdate, virtualServiceUpdate } from './route-workloads.js';

export { admissionReview } from './review-envelope.js';
export { trafficSplitUpdate } from './route-workloads.js';

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
