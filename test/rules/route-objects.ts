/**
 * Builders of every weighted-route kind meshwarden reads, from a list of [backend, weight] pairs,
 * so each rule can be tested on each kind with the same weights.
 */
export type Weights = readonly (readonly [string, number])[];

export interface RouteKindCase {
  readonly id: string;
  build(
    weights: Weights,
    extra?: { annotations?: Record<string, string>; ownerCanary?: string },
  ): Record<string, unknown>;
}

function meta(
  name: string,
  namespace: string,
  extra: { annotations?: Record<string, string>; ownerCanary?: string } = {},
) {
  return {
    name,
    namespace,
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ...(extra.ownerCanary
      ? {
          ownerReferences: [
            {
              apiVersion: 'flagger.app/v1beta1',
              kind: 'Canary',
              name: extra.ownerCanary,
              uid: 'c0ffee',
              controller: true,
            },
          ],
        }
      : {}),
  };
}

const trafficSplit = (version: string, quantity: boolean): RouteKindCase => ({
  id: `TrafficSplit ${version}`,
  build: (weights, extra) => ({
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: meta('web', 'shop', extra),
    // v1alpha1 weights are quantities: write them in milli-units to exercise that reading.
    spec: {
      service: 'web',
      backends: weights.map(([service, w]) => ({ service, weight: quantity ? `${w * 10}m` : w })),
    },
  }),
});

const istio = (version: string): RouteKindCase => ({
  id: `Istio VirtualService ${version}`,
  build: (weights, extra) => ({
    apiVersion: `networking.istio.io/${version}`,
    kind: 'VirtualService',
    metadata: meta('web', 'shop', extra),
    spec: {
      hosts: ['web'],
      http: [{ route: weights.map(([host, weight]) => ({ destination: { host }, weight })) }],
    },
  }),
});

const gloo = (kind: 'VirtualService' | 'RouteTable'): RouteKindCase => ({
  id: `Gloo ${kind}`,
  build: (weights, extra) => {
    const routes = [
      {
        matchers: [{ prefix: '/' }],
        routeAction: {
          multi: {
            destinations: weights.map(([name, weight]) => ({
              destination: { upstream: { name, namespace: 'gloo-system' } },
              weight,
            })),
          },
        },
      },
    ];
    return {
      apiVersion: 'gateway.solo.io/v1',
      kind,
      metadata: meta('web', 'shop', extra),
      spec: kind === 'VirtualService' ? { virtualHost: { domains: ['*'], routes } } : { routes },
    };
  },
});

const httpRoute = (version: string): RouteKindCase => ({
  id: `HTTPRoute ${version}`,
  build: (weights, extra) => ({
    apiVersion: `gateway.networking.k8s.io/${version}`,
    kind: 'HTTPRoute',
    metadata: meta('web', 'shop', extra),
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'web', port: 80 }],
      rules: [{ backendRefs: weights.map(([name, weight]) => ({ name, port: 80, weight })) }],
    },
  }),
});

/** GRPCRoute and the Layer 4 routes share HTTPRoute's rules[].backendRefs. */
const gatewayRoute = (kind: string, version: string, gateway: boolean): RouteKindCase => ({
  id: `${kind} ${version}`,
  build: (weights, extra) => ({
    apiVersion: `gateway.networking.k8s.io/${version}`,
    kind,
    metadata: meta('web', 'shop', extra),
    spec: {
      parentRefs: gateway
        ? [{ name: 'edge', namespace: 'infra', sectionName: 'tcp' }]
        : [{ group: '', kind: 'Service', name: 'web', port: 80 }],
      rules: [{ backendRefs: weights.map(([name, weight]) => ({ name, port: 80, weight })) }],
    },
  }),
});

const linkerdRoute = (version: string): RouteKindCase => ({
  id: `Linkerd HTTPRoute ${version}`,
  build: (weights, extra) => ({
    apiVersion: `policy.linkerd.io/${version}`,
    kind: 'HTTPRoute',
    metadata: meta('web', 'shop', extra),
    spec: {
      parentRefs: [{ group: 'core', kind: 'Service', name: 'web', port: 80 }],
      rules: [{ backendRefs: weights.map(([name, weight]) => ({ name, port: 80, weight })) }],
    },
  }),
});

const knative = (kind: 'Service' | 'Route'): RouteKindCase => ({
  id: `Knative ${kind}`,
  build: (weights, extra) => ({
    apiVersion: 'serving.knative.dev/v1',
    kind,
    metadata: meta('web', 'shop', extra),
    spec: {
      ...(kind === 'Service' ? { template: { spec: { containers: [{ image: 'web:2' }] } } } : {}),
      traffic: weights.map(([revisionName, percent]) => ({ revisionName, percent })),
    },
  }),
});

const appMesh: RouteKindCase = {
  id: 'App Mesh VirtualRouter',
  build: (weights, extra) => ({
    apiVersion: 'appmesh.k8s.aws/v1beta2',
    kind: 'VirtualRouter',
    metadata: meta('web', 'shop', extra),
    spec: {
      listeners: [{ portMapping: { port: 80, protocol: 'http' } }],
      routes: [
        {
          name: 'web',
          httpRoute: {
            match: { prefix: '/' },
            action: {
              weightedTargets: weights.map(([name, weight]) => ({
                virtualNodeRef: { name },
                weight,
              })),
            },
          },
        },
      ],
    },
  }),
};

const consul: RouteKindCase = {
  id: 'Consul ServiceSplitter',
  build: (weights, extra) => ({
    apiVersion: 'consul.hashicorp.com/v1alpha1',
    kind: 'ServiceSplitter',
    metadata: meta('web', 'shop', extra),
    spec: { splits: weights.map(([serviceSubset, weight]) => ({ weight, serviceSubset })) },
  }),
};

export const ROUTE_KIND_CASES: readonly RouteKindCase[] = [
  trafficSplit('v1alpha1', true),
  trafficSplit('v1alpha2', false),
  trafficSplit('v1alpha3', false),
  trafficSplit('v1alpha4', false),
  istio('v1'),
  istio('v1beta1'),
  istio('v1alpha3'),
  gloo('VirtualService'),
  gloo('RouteTable'),
  httpRoute('v1'),
  httpRoute('v1beta1'),
  appMesh,
  consul,
  gatewayRoute('GRPCRoute', 'v1', false),
  gatewayRoute('TCPRoute', 'v1alpha2', true),
  gatewayRoute('TLSRoute', 'v1alpha2', true),
  gatewayRoute('UDPRoute', 'v1alpha2', true),
  linkerdRoute('v1beta2'),
  linkerdRoute('v1beta3'),
  knative('Service'),
  knative('Route'),
];
