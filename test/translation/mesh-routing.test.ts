/* eslint-disable @typescript-eslint/no-explicit-any -- the tests dig into untyped manifests */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { translateTrafficSplit, type TranslateOptions } from '../../src/translation/translate.js';
import { BUNDLED_CRDS, crdProblems } from '../traffic/crd-validator.js';
import { loadManifest } from '../traffic/fixtures.js';
import { RANKINGS, type Request } from './route-ranking.js';

const svc = (
  name: string,
  selector: Record<string, string>,
  ports: Record<string, unknown>[] = [{ name: 'http', port: 80, targetPort: 8080 }],
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { selector, ports },
});

const split = (
  backends: [string, number][],
  extra: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'split.smi-spec.io/v1alpha4',
  kind: 'TrafficSplit',
  metadata: { name: 'web-rollout', namespace: 'shop', ...meta },
  spec: {
    service: 'web',
    backends: backends.map(([service, weight]) => ({ service, weight })),
    ...extra,
  },
});

const SERVICES = [
  svc('web', { app: 'web' }),
  svc('web-v1', { app: 'web', version: 'v1' }),
  svc('web-v2', { app: 'web', version: 'v2' }),
  svc('web-v3', { app: 'web', version: 'v3' }),
];

function ok(s: KubeObject, mesh: MeshId, options: TranslateOptions = { services: SERVICES }) {
  const result = translateTrafficSplit(s, mesh, options);
  if (!result.ok) throw new Error(`${mesh}: ${result.error}`);
  for (const o of result.objects) expect(crdProblems(o), `${mesh} ${String(o.kind)}`).toEqual([]);
  return result;
}
const byKind = (objects: readonly KubeObject[], kind: string) =>
  objects.filter((o) => o.kind === kind);
const refused = (s: KubeObject, mesh: MeshId, options: TranslateOptions) => {
  const result = translateTrafficSplit(s, mesh, options);
  expect(result.ok, mesh).toBe(false);
  return result.ok ? '' : result.error;
};

/** A three-backend split whose HTTPRouteGroup has a path expression and a header-only match. */
const GROUP: KubeObject = {
  apiVersion: 'specs.smi-spec.io/v1alpha4',
  kind: 'HTTPRouteGroup',
  metadata: { name: 'canary-traffic', namespace: 'shop' },
  spec: {
    matches: [
      { name: 'api', pathRegex: '/api', methods: ['GET'] },
      { name: 'beta-users', headers: [{ 'x-beta': 'yes' }] },
    ],
  },
};
const THREE = split(
  [
    ['web-v1', 70],
    ['web-v2', 20],
    ['web-v3', 10],
  ],
  { matches: [{ kind: 'HTTPRouteGroup', name: 'canary-traffic' }] },
);
const WITH_GROUP: TranslateOptions = { services: SERVICES, routeGroups: [GROUP] };
const MATCHED: Request[] = [
  { path: '/api', method: 'GET' },
  { path: '/api/orders/1', method: 'GET' },
  { path: '/', headers: { 'x-beta': 'yes' } },
  { path: '/checkout/long/path', headers: { 'x-beta': 'yes' } },
];
const UNMATCHED: Request[] = [
  { path: '/' },
  { path: '/api/orders', method: 'POST' },
  { path: '/checkout' },
];

describe('Istio: routes by the root port protocol (istio/istio pkg/config/kube/conversion.go ConvertProtocol)', () => {
  const istio = (ports: Record<string, unknown>[], extra: TranslateOptions = {}) => {
    const services = [
      svc('web', { app: 'web' }, ports),
      svc('web-v1', { app: 'web', version: 'v1' }, ports),
      svc('web-v2', { app: 'web', version: 'v2' }, ports),
    ];
    const s = split([
      ['web-v1', 90],
      ['web-v2', 10],
    ]);
    return ok(s, 'istio', { services, ...extra }).objects[0]!.spec as any;
  };

  it('a tcp port gets tcp routes only, as Flagger switches to tcp (fluxcd/flagger pkg/router/istio.go)', () => {
    const spec = istio([{ name: 'tcp-db', port: 5432 }]);
    expect(spec.http).toBeUndefined();
    expect(spec.tcp).toEqual([
      {
        route: [
          { destination: { host: 'web-v1.shop.svc.cluster.local' }, weight: 90 },
          { destination: { host: 'web-v2.shop.svc.cluster.local' }, weight: 10 },
        ],
      },
    ]);
  });

  it('appProtocol wins over the name; tls, https, mongo, redis, mysql are TCP to Istio (protocol/instance.go IsTCP)', () => {
    expect(istio([{ name: 'tcp-x', appProtocol: 'grpc', port: 80 }]).tcp).toBeUndefined();
    for (const name of ['tls-x', 'https', 'mongo-main', 'redis', 'mysql-a'])
      expect(istio([{ name, port: 7000 }]).http, name).toBeUndefined();
    // An unnamed MySQL port: Istio's well-known TCP ports.
    expect(istio([{ port: 3306 }]).http).toBeUndefined();
  });

  it('a port Istio does not know is sniffed: both an HTTP and a TCP filter chain, so both routes (pilot/pkg/networking/core/listener.go ListenerProtocolAuto)', () => {
    const spec = istio([{ name: 'web', port: 80 }]);
    expect(spec.http.map((h: any) => h.name)).toEqual(['split']);
    expect(spec.tcp).toHaveLength(1);
  });

  it('several root ports: each route matches its port, destinations name the backend port', () => {
    const spec = istio([
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'tcp-metrics', port: 9000 },
    ]);
    expect(spec.http).toEqual([
      {
        name: 'split-80',
        match: [{ port: 80 }],
        route: [
          {
            destination: { host: 'web-v1.shop.svc.cluster.local', port: { number: 80 } },
            weight: 90,
          },
          {
            destination: { host: 'web-v2.shop.svc.cluster.local', port: { number: 80 } },
            weight: 10,
          },
        ],
      },
    ]);
    expect(spec.tcp[0].match).toEqual([{ port: 9000 }]);
  });

  it('each backend is addressed on the port its own Service exposes for the root port (by name)', () => {
    const services = [
      svc('web', { app: 'web' }, [{ name: 'http', port: 80 }]),
      svc('web-v1', { app: 'web', version: 'v1' }, [
        { name: 'admin', port: 9901 },
        { name: 'http', port: 8080 },
      ]),
      svc('web-v2', { app: 'web', version: 'v2' }, [{ name: 'http', port: 80 }]),
    ];
    const s = split([
      ['web-v1', 50],
      ['web-v2', 50],
    ]);
    const route = (ok(s, 'istio', { services }).objects[0]!.spec as any).http[0].route;
    expect(route[0].destination).toEqual({
      host: 'web-v1.shop.svc.cluster.local',
      port: { number: 8080 },
    });
    expect(route[1].destination).toEqual({ host: 'web-v2.shop.svc.cluster.local' });
  });

  it('writes the requested version, and refuses one it cannot', () => {
    const s = split([['web-v1', 1]]);
    const v1beta1 = ok(s, 'istio', {
      services: SERVICES,
      targetVersions: { 'networking.istio.io': 'v1beta1' },
    });
    expect(v1beta1.objects[0]?.apiVersion).toBe('networking.istio.io/v1beta1');
    expect(
      refused(s, 'istio', { services: SERVICES, targetVersions: { 'networking.istio.io': 'v2' } }),
    ).toMatch(/networking\.istio\.io\/v2 is not a version meshwarden writes/);
  });
});

describe('Gateway API: versions, relative weights, per-backend ports', () => {
  it('linkerd writes v1beta1, valid against the CRD Linkerd 2.17 bundles (linkerd/linkerd2 charts/linkerd-crds)', () => {
    const route = ok(split([['web-v1', 1]]), 'linkerd').objects[0]!;
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1beta1');
    expect(crdProblems(route, BUNDLED_CRDS.linkerdHttpRoute)).toEqual([]);
    const v1 = ok(split([['web-v1', 1]]), 'linkerd', {
      services: SERVICES,
      targetVersions: { 'gateway.networking.k8s.io': 'v1' },
    }).objects[0]!;
    expect(v1.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(ok(split([['web-v1', 1]]), 'kuma').objects[0]?.apiVersion).toBe(
      'gateway.networking.k8s.io/v1',
    );
  });

  it('keeps relative weights exactly, up to 1,000,000 (gateway-api apis/v1/shared_types.go BackendRef.Weight)', () => {
    const weights = (ws: [string, number][]) =>
      ((ok(split(ws), 'gateway-api').objects[0]!.spec as any).rules[0].backendRefs as any[]).map(
        (b) => b.weight,
      );
    expect(
      weights([
        ['web-v1', 1],
        ['web-v2', 500],
      ]),
    ).toEqual([1, 500]);
    expect(
      weights([
        ['web-v1', 2],
        ['web-v2', 1],
        ['web-v3', 1],
      ]),
    ).toEqual([50, 25, 25]);
    expect(
      weights([
        ['web-v1', 1],
        ['web-v2', 1],
        ['web-v3', 1],
      ]),
    ).toEqual([1, 1, 1]);
    expect(
      weights([
        ['web-v1', 3_000_000],
        ['web-v2', 1],
      ]),
    ).toEqual([1_000_000, 1]);
  });

  it('a backend whose Service lacks the root port is left out with a warning; none left: refused (smi-spec apis/traffic-split/v1alpha4/traffic-split.md; Kuma answers a BackendNotFound ref with 500)', () => {
    const services = [
      ...SERVICES.slice(0, 2),
      svc('web-v2', { app: 'web', version: 'v2' }, [{ name: 'grpc', port: 9090 }]),
    ];
    const s = split([
      ['web-v1', 90],
      ['web-v2', 10],
    ]);
    const result = ok(s, 'kuma', { services });
    expect((result.objects[0]!.spec as any).rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'web-v1', port: 80, weight: 100 },
    ]);
    expect(result.warnings).toEqual([
      'backend web-v2 is left out of port 80 (http): its Service exposes no port named http or numbered 80, so it would get no traffic',
    ]);
    const onlyV2 = split([
      ['web-v1', 0],
      ['web-v2', 10],
    ]);
    expect(refused(onlyV2, 'kuma', { services })).toMatch(
      /^no backend with a weight above 0 exposes port 80 \(http\) of root Service web/,
    );
    // In the cluster a backend Service that does not exist is left out too.
    const missing = translateTrafficSplit(s, 'istio', {
      services: SERVICES.slice(0, 2),
      complete: true,
    });
    expect(missing.ok && missing.warnings).toEqual([
      'backend web-v2 is left out: Service shop/web-v2 does not exist',
    ]);
  });

  it('backendRefs use the backend Service port for the root port name', () => {
    const services = [
      svc('web', { app: 'web' }, [{ name: 'http', port: 80 }]),
      svc('web-v1', { app: 'web', version: 'v1' }, [{ name: 'http', port: 8080 }]),
    ];
    const route = ok(split([['web-v1', 1]]), 'gateway-api', { services }).objects[0]!;
    expect((route.spec as any).parentRefs).toEqual([
      { group: '', kind: 'Service', name: 'web', port: 80 },
    ]);
    expect((route.spec as any).rules[0].backendRefs[0].port).toBe(8080);
  });
});

describe('Gateway API: the matched rule wins under each implementation’s ranking', () => {
  for (const mesh of ['linkerd', 'kuma', 'gateway-api'] as const) {
    it(`${mesh}: a three-backend split with a path expression and a header-only match`, () => {
      const { objects } = ok(THREE, mesh, WITH_GROUP);
      expect(objects).toHaveLength(1);
      // Linkerd's bundled CRDs (Gateway API v0.7.1) take the regex paths and header matches too.
      if (mesh === 'linkerd')
        expect(crdProblems(objects[0]!, BUNDLED_CRDS.linkerdHttpRoute)).toEqual([]);
      const rules = (objects[0]!.spec as any).rules;
      expect(rules[1].matches).toEqual([{ path: { type: 'RegularExpression', value: '/.*' } }]);
      expect(rules[1].backendRefs).toEqual([{ group: '', kind: 'Service', name: 'web', port: 80 }]);
      expect(rules[0].backendRefs.map((b: any) => [b.name, b.weight])).toEqual([
        ['web-v1', 70],
        ['web-v2', 20],
        ['web-v3', 10],
      ]);
      for (const [peer, winner] of Object.entries(RANKINGS)) {
        for (const r of MATCHED) expect(winner(rules, r), `${peer} ${JSON.stringify(r)}`).toBe(0);
        for (const r of UNMATCHED) expect(winner(rules, r), `${peer} ${JSON.stringify(r)}`).toBe(1);
      }
    });
  }

  it('the old layout (regex rule, then the defaulted PathPrefix / catch-all) loses under Istio and Kuma', () => {
    const old = [
      { matches: [{ path: { type: 'RegularExpression', value: '(?:/api).*' } }] },
      { backendRefs: [] },
    ];
    expect(RANKINGS.istio(old, { path: '/api/x' })).toBe(1);
    expect(RANKINGS.kuma(old, { path: '/api/x' })).toBe(1);
    expect(RANKINGS.linkerd(old, { path: '/api/x' })).toBe(0);
  });

  it('header-only matches keep PathPrefix / and the defaulted catch-all, which they outrank', () => {
    const ab = split([['web-v2', 1]], { matches: [{ kind: 'HTTPRouteGroup', name: 'beta' }] });
    const beta: KubeObject = {
      ...GROUP,
      metadata: { name: 'beta', namespace: 'shop' },
      spec: { matches: [{ name: 'beta', headers: [{ 'x-beta': 'yes' }] }] },
    };
    const rules = (
      ok(ab, 'gateway-api', { services: SERVICES, routeGroups: [beta] }).objects[0]!.spec as any
    ).rules;
    expect(rules[0].matches[0].path).toEqual({ type: 'PathPrefix', value: '/' });
    expect(rules[1].matches).toBeUndefined();
    for (const winner of Object.values(RANKINGS)) {
      expect(winner(rules, { path: '/x', headers: { 'x-beta': 'yes' } })).toBe(0);
      expect(winner(rules, { path: '/x' })).toBe(1);
    }
  });
});

describe('Consul: ServiceDefaults with an L7 protocol (hashicorp/consul agent/consul/discoverychain/compile.go)', () => {
  const s = split([
    ['web-v1', 90],
    ['web-v2', 10],
  ]);

  it('offline: one for the root and every backend, marked unchecked, with a warning', () => {
    const { objects, warnings } = ok(s, 'consul');
    const defaults = byKind(objects, 'ServiceDefaults');
    expect(defaults.map((d) => [d.metadata?.name, d.spec])).toEqual([
      ['web', { protocol: 'http' }],
      ['web-v1', { protocol: 'http' }],
      ['web-v2', { protocol: 'http' }],
    ]);
    for (const d of defaults)
      expect(d.metadata?.annotations?.['meshwarden.io/prerequisite']).toBe('unchecked');
    expect(warnings.join('\n')).toMatch(/The cluster was not checked/);
  });

  it("the user's own (given in the input) is used, not written; a global ProxyDefaults with http makes none needed", () => {
    const own: KubeObject = {
      apiVersion: 'consul.hashicorp.com/v1alpha1',
      kind: 'ServiceDefaults',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { protocol: 'http' },
    };
    const names = (existing: KubeObject[]) =>
      byKind(ok(s, 'consul', { services: SERVICES, existing }).objects, 'ServiceDefaults').map(
        (d) => d.metadata?.name,
      );
    expect(names([own])).toEqual(['web-v1', 'web-v2']);
    const global: KubeObject = {
      apiVersion: 'consul.hashicorp.com/v1alpha1',
      kind: 'ProxyDefaults',
      metadata: { name: 'global', namespace: 'consul' },
      spec: { config: { protocol: 'http' } },
    };
    expect(names([global])).toEqual([]);
  });

  it('one protocol for the whole chain: the cluster\'s own decide it, a disagreement is a warning ("uses inconsistent protocols", compile.go recordProtocol)', () => {
    const defaults = (name: string, protocol: string): KubeObject => ({
      apiVersion: 'consul.hashicorp.com/v1alpha1',
      kind: 'ServiceDefaults',
      metadata: { name, namespace: 'shop' },
      spec: { protocol },
    });
    // The root already says http2: the backends' are written with http2, not the port's http.
    const agreed = ok(s, 'consul', { services: SERVICES, existing: [defaults('web', 'http2')] });
    expect(
      byKind(agreed.objects, 'ServiceDefaults').map((d) => [d.metadata?.name, d.spec]),
    ).toEqual([
      ['web-v1', { protocol: 'http2' }],
      ['web-v2', { protocol: 'http2' }],
    ]);
    expect(agreed.warnings.join('\n')).not.toMatch(/inconsistent/);
    // Two of the user's disagree: nothing of theirs is changed, and the warning names them.
    const split = ok(s, 'consul', {
      services: SERVICES,
      existing: [defaults('web-v1', 'grpc'), defaults('web-v2', 'http')],
      complete: true,
    });
    expect(byKind(split.objects, 'ServiceDefaults').map((d) => d.metadata?.name)).toEqual(['web']);
    expect(split.warnings).toContainEqual(
      expect.stringMatching(
        /^the services of this split do not share one protocol \(web: http, web-v1: grpc, web-v2: http\): Consul refuses the ServiceSplitter \("discovery chain uses inconsistent protocols"\)/,
      ),
    );
  });

  it('the protocol follows the root port (grpc, http2); a plain TCP root is refused', () => {
    const grpc = [svc('web', { app: 'web' }, [{ name: 'grpc', port: 9090 }])];
    const defaults = byKind(ok(s, 'consul', { services: grpc }).objects, 'ServiceDefaults');
    expect(defaults.map((d) => d.spec)).toEqual([
      { protocol: 'grpc' },
      { protocol: 'grpc' },
      { protocol: 'grpc' },
    ]);
    const tcp = [svc('web', { app: 'web' }, [{ name: 'tcp', port: 5432 }])];
    expect(refused(s, 'consul', { services: tcp })).toMatch(
      /Consul splits only services with an L7 protocol/,
    );
  });
});

describe('App Mesh: Flagger’s layout (fluxcd/flagger pkg/router/appmesh_v1beta2.go)', () => {
  const s = split([
    ['web-v1', 90],
    ['web-v2', 10],
  ]);

  it('the VirtualService names the router as provider; a VirtualNode per backend', () => {
    const { objects } = ok(s, 'appmesh');
    expect(byKind(objects, 'VirtualService')[0]?.spec).toEqual({
      awsName: 'web.shop.svc.cluster.local',
      provider: { virtualRouter: { virtualRouterRef: { name: 'web-rollout' } } },
    });
    expect(byKind(objects, 'VirtualNode').map((n) => [n.metadata?.name, n.spec])).toEqual([
      [
        'web-v1',
        {
          podSelector: { matchLabels: { app: 'web', version: 'v1' } },
          listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: 'web-v1.shop.svc.cluster.local.' } },
        },
      ],
      [
        'web-v2',
        {
          podSelector: { matchLabels: { app: 'web', version: 'v2' } },
          listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
          serviceDiscovery: { dns: { hostname: 'web-v2.shop.svc.cluster.local.' } },
        },
      ],
    ]);
  });

  it('the matches fallback never names a VirtualNode that would select the backends’ pods ("found multiple matching VirtualNodes for pod")', () => {
    const { objects } = ok(THREE, 'appmesh', WITH_GROUP);
    const router = byKind(objects, 'VirtualRouter')[0]!;
    const fallback = (router.spec as any).routes.at(-1);
    expect(fallback.priority).toBe(1000);
    expect(
      fallback.httpRoute.action.weightedTargets.map((t: any) => t.virtualNodeRef.name),
    ).toEqual(['web-v1', 'web-v2', 'web-v3']);
    // No node for the root's pods, which are the backends'.
    expect(byKind(objects, 'VirtualNode').map((n) => n.metadata?.name)).toEqual([
      'web-v1',
      'web-v2',
      'web-v3',
    ]);
    // A root whose pods are none of the backends' gets its own node.
    const apart = [svc('web', { app: 'web-legacy' }), ...SERVICES.slice(1)];
    const own = ok(THREE, 'appmesh', { services: apart, routeGroups: [GROUP] }).objects;
    const last = (byKind(own, 'VirtualRouter')[0]!.spec as any).routes.at(-1);
    expect(last.httpRoute.action.weightedTargets).toEqual([
      { virtualNodeRef: { name: 'web' }, weight: 100 },
    ]);
    expect(byKind(own, 'VirtualNode').map((n) => n.metadata?.name)).toContain('web');
    // Without the root Service's selector the fallback cannot be placed safely.
    expect(refused(THREE, 'appmesh', { ports: [80], routeGroups: [GROUP] })).toMatch(
      /found multiple matching VirtualNodes for pod/,
    );
  });

  it('a named targetPort cannot give the listener its container port: a warning says so', () => {
    const named = [
      svc('web', { app: 'web' }),
      svc('web-v1', { app: 'web', version: 'v1' }, [{ name: 'http', port: 80, targetPort: 'web' }]),
      svc('web-v2', { app: 'web', version: 'v2' }),
    ];
    const { objects, warnings } = ok(s, 'appmesh', { services: named });
    const v1 = byKind(objects, 'VirtualNode').find((n) => n.metadata?.name === 'web-v1');
    expect((v1?.spec as any).listeners).toEqual([{ portMapping: { port: 80, protocol: 'http' } }]);
    expect(warnings).toContainEqual(
      expect.stringMatching(
        /^VirtualNode web-v1 listens on 80, the Service's port: its targetPort "web"/,
      ),
    );
  });

  it("the user's VirtualService with another provider is left alone, with a warning", () => {
    const theirs: KubeObject = {
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { provider: { virtualNode: { virtualNodeRef: { name: 'web' } } } },
    };
    const { objects, warnings } = ok(s, 'appmesh', { services: SERVICES, existing: [theirs] });
    expect(byKind(objects, 'VirtualService')).toEqual([]);
    expect(warnings).toContain(
      'App Mesh VirtualService web exists with another provider, so this split carries no traffic until its spec.provider is virtualRouter.virtualRouterRef.name: web-rollout (meshwarden leaves it unchanged)',
    );
  });
});

describe('Gloo: delegation Gloo accepts (solo-io/gloo projects/gateway/pkg/translator/converter.go isRouteTableValidForDelegateMatcher)', () => {
  /** Gloo's check against a VirtualService delegating `/`: each matcher's path string begins with it. */
  const accepted = (route: any) =>
    route.inheritablePathMatchers === true ||
    route.matchers.every((m: any) => String(m.prefix ?? m.regex ?? m.exact).startsWith('/'));

  it('regex routes begin with the prefix; the others inherit it, as Flagger sets (fluxcd/flagger pkg/router/gloo.go)', () => {
    const routes = (ok(THREE, 'gloo', WITH_GROUP).objects[0]!.spec as any).routes;
    expect(routes.map((r: any) => [r.matchers, r.inheritablePathMatchers])).toEqual([
      [[{ regex: '/(?:api).*', methods: ['GET'] }], undefined],
      [[{ prefix: '/', headers: [{ name: 'x-beta', value: 'yes', regex: true }] }], true],
      [[{ prefix: '/' }], true],
    ]);
    for (const r of routes) expect(accepted(r)).toBe(true);
    expect(routes[0].routeAction.multi.destinations.map((d: any) => d.weight)).toEqual([
      70, 20, 10,
    ]);
  });

  it('a path expression that cannot begin with / is refused, saying why', () => {
    const odd: KubeObject = {
      ...GROUP,
      spec: { matches: [{ name: 'any-api', pathRegex: '.*/api' }] },
    };
    expect(refused(THREE, 'gloo', { services: SERVICES, routeGroups: [odd] })).toMatch(
      /Gloo drops a delegated RouteTable route whose regex does not begin/,
    );
  });
});

describe('OSM: the TrafficSplit itself, weights kept (openservicemesh/osm pkg/catalog/outbound_traffic_policies.go)', () => {
  it('1 against 500 stays 1 and 500', () => {
    const out = ok(
      split([
        ['web-v1', 1],
        ['web-v2', 500],
      ]),
      'osm',
    ).objects[0]!;
    expect((out.spec as any).backends).toEqual([
      { service: 'web-v1', weight: 1 },
      { service: 'web-v2', weight: 500 },
    ]);
  });
});

describe('ownerReferences when the split has a uid, as the reconciler sets them', () => {
  for (const mesh of MESH_IDS) {
    it(mesh, () => {
      const s = split([['web-v1', 1]], {}, { uid: 'c0ffee' });
      for (const o of ok(s, mesh).objects) {
        if (o.kind === 'TrafficSplit') continue;
        expect(o.metadata?.ownerReferences).toEqual([
          {
            apiVersion: 'split.smi-spec.io/v1alpha4',
            kind: 'TrafficSplit',
            name: 'web-rollout',
            uid: 'c0ffee',
            controller: true,
          },
        ]);
      }
    });
  }
});

describe('examples/canary-smi, for every mesh', () => {
  const folder = join(import.meta.dirname, '../../examples/canary-smi');
  const load = (f: string) => loadManifest(join(folder, f)).objects.map((o) => o.object);
  const services = load('services.yaml');
  const splits = readdirSync(folder).filter((f) => f.startsWith('split-'));
  for (const mesh of MESH_IDS) {
    it(`${mesh}: valid objects that send each backend its share on port 80`, () => {
      for (const file of splits) {
        const [s] = load(file);
        const raw = ((s!.spec as any).backends as any[]).map((b) => Number(b.weight));
        const result = translateTrafficSplit(s!, mesh, { services });
        if (!result.ok) throw new Error(`${file}: ${result.error}`);
        for (const o of result.objects) expect(crdProblems(o), file).toEqual([]);
        const route = result.objects[0]!;
        const spec = route.spec as any;
        const got: number[] =
          route.kind === 'HTTPRoute'
            ? spec.rules[0].backendRefs.map((b: any) => b.weight)
            : route.kind === 'VirtualService'
              ? spec.http[0].route.map((r: any) => r.weight)
              : route.kind === 'ServiceSplitter'
                ? spec.splits.map((x: any) => x.weight)
                : route.kind === 'VirtualRouter'
                  ? spec.routes[0].httpRoute.action.weightedTargets.map((t: any) => t.weight)
                  : route.kind === 'RouteTable'
                    ? spec.routes[0].routeAction.multi.destinations.map((d: any) => d.weight)
                    : spec.backends.map((b: any) => b.weight);
        expect(got, `${mesh} ${file}`).toEqual(raw);
        if (route.kind === 'HTTPRoute')
          expect(spec.rules[0].backendRefs.every((b: any) => b.port === 80)).toBe(true);
        if (mesh === 'appmesh')
          for (const n of byKind(result.objects, 'VirtualNode'))
            expect((n.spec as any).listeners[0].portMapping.port).toBe(8080);
      }
    });
  }
});

describe('the three-backend split with HTTPRouteGroup matches, for every mesh', () => {
  for (const mesh of MESH_IDS) {
    it(`${mesh}: routes as intended, or refuses saying why`, () => {
      const result = translateTrafficSplit(THREE, mesh, WITH_GROUP);
      if (mesh === 'consul' || mesh === 'osm') {
        // A ServiceSplitter splits all of a service's traffic; TrafficSplit v1alpha2 has no matches.
        expect(result.ok === false && result.error).toMatch(/spec\.matches/);
        return;
      }
      if (!result.ok) throw new Error(result.error);
      for (const o of result.objects) expect(crdProblems(o), mesh).toEqual([]);
      const spec = result.objects[0]!.spec as any;
      if (mesh === 'istio') {
        // VirtualService routes are evaluated in order: matched, then the fallback to the root.
        expect(spec.http.map((h: any) => h.name)).toEqual(['matched', 'fallback']);
        expect(spec.http[0].match.map((m: any) => m.uri)).toEqual([
          { regex: '(?:/api).*' },
          { prefix: '/' },
        ]);
      }
    });
  }
});
