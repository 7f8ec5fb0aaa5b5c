import { admissionReview, type Json } from './review-envelope.js';

/** Route objects as mesh users and rollout controllers write them, for the benchmark. */

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
