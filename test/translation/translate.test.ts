/* eslint-disable @typescript-eslint/no-explicit-any -- the tests dig into untyped manifests */
import { relative } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { translateTrafficSplit, type TranslateOptions } from '../../src/translation/translate.js';
import { crdProblems } from '../traffic/crd-validator.js';
import { CORPUS, listFiles, loadManifest, markdownExamples } from '../traffic/fixtures.js';

const VERSIONS = ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'] as const;

function rollout(version: string, weights: [unknown, unknown] = [900, 100]): KubeObject {
  const w =
    version === 'v1alpha1' ? weights.map((x) => (typeof x === 'number' ? `${x}m` : x)) : weights;
  return {
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: { name: 'reviews-rollout', namespace: 'shop' },
    spec: {
      service: 'reviews',
      backends: [
        { service: 'reviews-v1', weight: w[0] },
        { service: 'reviews-v2', weight: w[1] },
      ],
    },
  };
}

const reviewsService = (ports: number[] = [9080]): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'reviews', namespace: 'shop' },
  spec: {
    selector: { app: 'reviews' },
    ports: ports.map((port) => ({ name: `http-${port}`, port })),
  },
});

const withService: TranslateOptions = { services: [reviewsService()] };

function ok(split: KubeObject, mesh: MeshId, options: TranslateOptions = withService) {
  const result = translateTrafficSplit(split, mesh, options);
  if (!result.ok) throw new Error(`${mesh}: ${result.error}`);
  return result;
}

/** The integer weights of every weighted list in an object, wherever the kind keeps them. */
function weightLists(o: KubeObject): number[][] {
  const spec = o.spec as Record<string, any>;
  // Prerequisites the routes need carry no weights.
  if (PREREQUISITE_KINDS.includes(`${String(o.apiVersion)} ${String(o.kind)}`)) return [];
  switch (String(o.kind)) {
    case 'VirtualService':
      return spec.http.map((h: any) => h.route.map((r: any) => r.weight ?? 100));
    case 'HTTPRoute':
      return spec.rules.map((r: any) => r.backendRefs.map((b: any) => b.weight ?? 1));
    case 'ServiceSplitter':
      return [spec.splits.map((s: any) => s.weight)];
    case 'VirtualRouter':
      return spec.routes.map((r: any) =>
        r.httpRoute.action.weightedTargets.map((t: any) => t.weight),
      );
    case 'RouteTable':
      return spec.routes.map((r: any) =>
        r.routeAction.multi ? r.routeAction.multi.destinations.map((d: any) => d.weight) : [100],
      );
    case 'TrafficSplit':
      return [spec.backends.map((b: any) => b.weight)];
    default:
      throw new Error(`unexpected kind ${String(o.kind)}`);
  }
}

const PREREQUISITE_KINDS = [
  'consul.hashicorp.com/v1alpha1 ServiceDefaults',
  'appmesh.k8s.aws/v1beta2 VirtualService',
  'appmesh.k8s.aws/v1beta2 VirtualNode',
];

/** Kinds whose weights are relative (kept exactly), not percentages summing to 100. */
const RELATIVE_KINDS = ['HTTPRoute', 'RouteTable', 'TrafficSplit'];

/**
 * What each mesh needs besides the route, offline (the cluster unknown): Consul's discovery
 * chain refuses a splitter without an L7 protocol for the root and every backend
 * (hashicorp/consul agent/consul/discoverychain/compile.go); an App Mesh VirtualRouter carries
 * nothing until the root's VirtualService names it (fluxcd/flagger pkg/router/appmesh_v1beta2.go).
 */
const EXPECTED_PREREQUISITES: Partial<Record<MeshId, string[]>> = {
  consul: [
    'consul.hashicorp.com/v1alpha1 ServiceDefaults reviews',
    'consul.hashicorp.com/v1alpha1 ServiceDefaults reviews-v1',
    'consul.hashicorp.com/v1alpha1 ServiceDefaults reviews-v2',
  ],
  appmesh: ['appmesh.k8s.aws/v1beta2 VirtualService reviews'],
};

const EXPECTED_KIND: Record<MeshId, string> = {
  istio: 'networking.istio.io/v1 VirtualService',
  // What the Gateway API CRDs bundled with Linkerd 2.14 to 2.17 serve.
  linkerd: 'gateway.networking.k8s.io/v1beta1 HTTPRoute',
  kuma: 'gateway.networking.k8s.io/v1 HTTPRoute',
  'gateway-api': 'gateway.networking.k8s.io/v1 HTTPRoute',
  consul: 'consul.hashicorp.com/v1alpha1 ServiceSplitter',
  appmesh: 'appmesh.k8s.aws/v1beta2 VirtualRouter',
  gloo: 'gateway.solo.io/v1 RouteTable',
  osm: 'split.smi-spec.io/v1alpha2 TrafficSplit',
};

describe('every mesh, every TrafficSplit version', () => {
  for (const mesh of MESH_IDS) {
    for (const version of VERSIONS) {
      it(`${version} → ${mesh}: ${EXPECTED_KIND[mesh]}, valid against the upstream CRD`, () => {
        const { objects, warnings } = ok(rollout(version), mesh);
        const prerequisites = EXPECTED_PREREQUISITES[mesh] ?? [];
        // Offline, each prerequisite comes with a warning that the cluster was not checked.
        if (prerequisites.length === 0) expect(warnings).toEqual([]);
        else expect(warnings.some((w) => /The cluster was not checked/.test(w))).toBe(true);
        expect(objects).toHaveLength(1 + prerequisites.length);
        const [object, ...rest] = objects as [KubeObject, ...KubeObject[]];
        expect(`${String(object.apiVersion)} ${String(object.kind)}`).toBe(EXPECTED_KIND[mesh]);
        expect(
          rest.map((o) => `${String(o.apiVersion)} ${String(o.kind)} ${o.metadata?.name ?? ''}`),
        ).toEqual(prerequisites);
        for (const o of objects) expect(crdProblems(o)).toEqual([]);
        expect(object.metadata).toMatchObject({
          // Consul names a splitter after the service it splits.
          name: mesh === 'consul' ? 'reviews' : 'reviews-rollout',
          namespace: 'shop',
          labels: { 'app.kubernetes.io/managed-by': 'meshwarden' },
          annotations: {
            'meshwarden.io/source': `split.smi-spec.io/${version} TrafficSplit shop/reviews-rollout`,
          },
        });
        const expected = mesh === 'osm' ? (version === 'v1alpha1' ? [9, 1] : [900, 100]) : [90, 10];
        expect(weightLists(object)).toEqual([expected]);
      });
    }
  }

  it('gives byte-identical output for the same input', () => {
    for (const mesh of MESH_IDS) {
      const a = stringify(ok(rollout('v1alpha4'), mesh).objects);
      const b = stringify(ok(structuredClone(rollout('v1alpha4')), mesh).objects);
      expect(a).toBe(b);
    }
  });
});

describe('the objects per mesh', () => {
  it('istio: hosts and destinations are fully qualified Services', () => {
    expect(ok(rollout('v1alpha4'), 'istio').objects[0]?.spec).toEqual({
      hosts: ['reviews.shop.svc.cluster.local'],
      http: [
        {
          name: 'split',
          route: [
            { destination: { host: 'reviews-v1.shop.svc.cluster.local' }, weight: 90 },
            { destination: { host: 'reviews-v2.shop.svc.cluster.local' }, weight: 10 },
          ],
        },
      ],
    });
    const custom = ok(rollout('v1alpha4'), 'istio', { clusterDomain: 'corp.example' });
    expect((custom.objects[0]?.spec as any).hosts).toEqual(['reviews.shop.svc.corp.example']);
  });

  it('gateway-api: a Service parentRef with group "" and port, backendRefs to Services', () => {
    expect(ok(rollout('v1alpha2'), 'linkerd').objects[0]?.spec).toEqual({
      parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }],
      rules: [
        {
          backendRefs: [
            { group: '', kind: 'Service', name: 'reviews-v1', port: 9080, weight: 90 },
            { group: '', kind: 'Service', name: 'reviews-v2', port: 9080, weight: 10 },
          ],
        },
      ],
    });
  });

  it('gateway-api: one HTTPRoute per port of a multi-port root Service', () => {
    const { objects } = ok(rollout('v1alpha2'), 'gateway-api', {
      services: [reviewsService([9080, 9443])],
    });
    expect(objects.map((o) => o.metadata?.name)).toEqual([
      'reviews-rollout-9080',
      'reviews-rollout-9443',
    ]);
    for (const o of objects) expect(crdProblems(o)).toEqual([]);
  });

  it('appmesh: an HTTP listener on the root port and virtual nodes named after the Services', () => {
    expect(ok(rollout('v1alpha2'), 'appmesh').objects[0]?.spec).toEqual({
      listeners: [{ portMapping: { port: 9080, protocol: 'http' } }],
      routes: [
        {
          name: 'reviews-rollout',
          httpRoute: {
            match: { prefix: '/' },
            action: {
              weightedTargets: [
                { virtualNodeRef: { name: 'reviews-v1' }, weight: 90 },
                { virtualNodeRef: { name: 'reviews-v2' }, weight: 10 },
              ],
            },
          },
        },
      ],
    });
    const multi = ok(rollout('v1alpha2'), 'appmesh', { ports: [80, 8080] }).objects[0]!;
    expect(crdProblems(multi)).toEqual([]);
    expect((multi.spec as any).routes.map((r: any) => [r.name, r.httpRoute.match.port])).toEqual([
      ['reviews-rollout-80', 80],
      ['reviews-rollout-8080', 8080],
    ]);
  });

  it('gloo: a RouteTable with Kubernetes Service destinations', () => {
    expect(ok(rollout('v1alpha2'), 'gloo').objects[0]?.spec).toEqual({
      routes: [
        {
          matchers: [{ prefix: '/' }],
          // As Flagger's Gloo router sets it (fluxcd/flagger pkg/router/gloo.go): the route takes
          // the delegating VirtualService's prefix, whatever it is.
          inheritablePathMatchers: true,
          routeAction: {
            multi: {
              destinations: [
                {
                  destination: {
                    kube: { ref: { name: 'reviews-v1', namespace: 'shop' }, port: 9080 },
                  },
                  weight: 90,
                },
                {
                  destination: {
                    kube: { ref: { name: 'reviews-v2', namespace: 'shop' }, port: 9080 },
                  },
                  weight: 10,
                },
              ],
            },
          },
        },
      ],
    });
  });

  it('consul: two-decimal percentages when they pass the float32 check', () => {
    const { objects } = ok(rollout('v1alpha2', [2, 1]), 'consul');
    expect(objects[0]?.spec).toEqual({
      splits: [
        { weight: 66.67, service: 'reviews-v1' },
        { weight: 33.33, service: 'reviews-v2' },
      ],
    });
    const fallback = ok(rollout('v1alpha2', [1034, 8966]), 'consul');
    expect(weightLists(fallback.objects[0]!)).toEqual([[10.34, 89.66]]);
  });

  it('osm: v1alpha2 with weight 0 written out, v1alpha1 quantities in whole proportion', () => {
    expect(ok(rollout('v1alpha1', ['1', '500m']), 'osm').objects[0]?.spec).toEqual({
      service: 'reviews',
      backends: [
        { service: 'reviews-v1', weight: 2 },
        { service: 'reviews-v2', weight: 1 },
      ],
    });
    expect(ok(rollout('v1alpha3', [100, 0]), 'osm').objects[0]?.spec).toMatchObject({
      backends: [{ weight: 100 }, { weight: 0 }],
    });
  });

  it('accepts the root and backends as name.ns and name.ns.svc.cluster.local', () => {
    const split = rollout('v1alpha2');
    (split.spec as any).service = 'reviews.shop.svc.cluster.local';
    (split.spec as any).backends[1].service = 'reviews-v2.shop';
    expect((ok(split, 'istio').objects[0]?.spec as any).http[0].route[1].destination.host).toBe(
      'reviews-v2.shop.svc.cluster.local',
    );
  });
});

describe('matches (v1alpha3 and v1alpha4)', () => {
  for (const version of ['v1alpha3', 'v1alpha4']) {
    const examples = markdownExamples(version);
    const ab = examples.find((o) => o.metadata?.name === 'ab-test' && o.kind === 'TrafficSplit')!;
    const group = examples.find((o) => o.kind === 'HTTPRouteGroup')!;
    const site = (name: string, selector: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector, ports: [{ port: 80 }] },
    });
    const website = site('website', { app: 'website' });
    const versions = [
      site('website-v1', { app: 'website', version: 'v1' }),
      site('website-v2', { app: 'website', version: 'v2' }),
    ];
    const options: TranslateOptions = {
      routeGroups: [group],
      services: [website, ...versions],
    };

    it(`${version}: istio puts the match first and the fallback to the root after it`, () => {
      const { objects } = ok(ab, 'istio', options);
      expect(crdProblems(objects[0]!)).toEqual([]);
      expect((objects[0]?.spec as any).http).toEqual([
        {
          name: 'matched',
          match: [
            {
              name: 'ab-test/firefox-users',
              uri: { prefix: '/' },
              headers: { 'user-agent': { regex: '.*Firefox.*' } },
            },
          ],
          route: [
            { destination: { host: 'website-v1.default.svc.cluster.local' }, weight: 0 },
            { destination: { host: 'website-v2.default.svc.cluster.local' }, weight: 100 },
          ],
        },
        {
          name: 'fallback',
          route: [{ destination: { host: 'website.default.svc.cluster.local' } }],
        },
      ]);
    });

    it(`${version}: gateway-api has the matched rule, then the catch-all rule to the root`, () => {
      const { objects } = ok(ab, 'gateway-api', options);
      expect(crdProblems(objects[0]!)).toEqual([]);
      expect((objects[0]?.spec as any).rules).toEqual([
        {
          matches: [
            {
              path: { type: 'PathPrefix', value: '/' },
              headers: [{ type: 'RegularExpression', name: 'user-agent', value: '.*Firefox.*' }],
            },
          ],
          backendRefs: [
            { group: '', kind: 'Service', name: 'website-v1', port: 80, weight: 0 },
            { group: '', kind: 'Service', name: 'website-v2', port: 80, weight: 100 },
          ],
        },
        { backendRefs: [{ group: '', kind: 'Service', name: 'website', port: 80 }] },
      ]);
    });

    it(`${version}: appmesh and gloo emit matched routes ahead of the fallback, valid`, () => {
      const appmesh = ok(ab, 'appmesh', options).objects[0]!;
      expect(crdProblems(appmesh)).toEqual([]);
      expect((appmesh.spec as any).routes.map((r: any) => [r.name, r.priority])).toEqual([
        ['ab-test-match-0', 1],
        ['ab-test-fallback', 1000],
      ]);
      expect((appmesh.spec as any).routes[0].httpRoute.match.headers).toEqual([
        { name: 'user-agent', match: { regex: '.*Firefox.*' } },
      ]);
      // The root selects the backends' pods: its requests go to their nodes, never to a node of
      // its own (aws-app-mesh-controller-for-k8s: "found multiple matching VirtualNodes for pod").
      expect((appmesh.spec as any).routes[1].httpRoute.action.weightedTargets).toEqual([
        { virtualNodeRef: { name: 'website-v1' }, weight: 50 },
        { virtualNodeRef: { name: 'website-v2' }, weight: 50 },
      ]);
      const gloo = ok(ab, 'gloo', options).objects[0]!;
      expect(crdProblems(gloo)).toEqual([]);
      expect((gloo.spec as any).routes[0].matchers).toEqual([
        { prefix: '/', headers: [{ name: 'user-agent', value: '.*Firefox.*', regex: true }] },
      ]);
      expect((gloo.spec as any).routes[0].inheritablePathMatchers).toBe(true);
      expect((gloo.spec as any).routes[1].routeAction).toEqual({
        single: { kube: { ref: { name: 'website', namespace: 'default' }, port: 80 } },
      });
    });

    it(`${version}: consul and osm refuse matches, saying why`, () => {
      for (const mesh of ['consul', 'osm'] as const) {
        const result = translateTrafficSplit(ab, mesh, options);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error).toMatch(/spec\.matches/);
      }
    });

    it(`${version}: an HTTPRouteGroup that was not given is named`, () => {
      const result = translateTrafficSplit(ab, 'istio', { services: [website] });
      expect(result).toEqual({
        ok: false,
        error:
          'spec.matches[0]: HTTPRouteGroup ab-test was not found in namespace default: its matches are needed to translate the split; give it alongside the TrafficSplit',
      });
    });
  }

  it('turns path regexes, several methods and several matches into each mesh’s form', () => {
    const split: KubeObject = {
      ...rollout('v1alpha4'),
      spec: {
        ...(rollout('v1alpha4').spec as object),
        matches: [{ kind: 'HTTPRouteGroup', name: 'api' }],
      },
    };
    const group: KubeObject = {
      apiVersion: 'specs.smi-spec.io/v1alpha4',
      kind: 'HTTPRouteGroup',
      metadata: { name: 'api', namespace: 'shop' },
      spec: {
        matches: [
          { name: 'writes', pathRegex: '/api/v1', methods: ['POST', 'put'] },
          { name: 'beta', headers: [{ 'X-Beta': 'yes' }] },
          { name: 'any', pathRegex: '/all.*', methods: ['*'] },
        ],
      },
    };
    const options = { ...withService, routeGroups: [group] };
    const istio = ok(split, 'istio', options).objects[0]!;
    expect((istio.spec as any).http[0].match).toEqual([
      { name: 'api/writes', uri: { regex: '(?:/api/v1).*' }, method: { regex: 'POST|PUT' } },
      { name: 'api/beta', uri: { prefix: '/' }, headers: { 'x-beta': { regex: 'yes' } } },
      { name: 'api/any', uri: { regex: '/all.*' } },
    ]);
    const route = ok(split, 'gateway-api', options).objects[0]!;
    expect((route.spec as any).rules[0].matches.map((m: any) => [m.path.value, m.method])).toEqual([
      ['(?:/api/v1).*', 'POST'],
      ['(?:/api/v1).*', 'PUT'],
      // With any path expression every matched path is a RegularExpression (a header-only one
      // `/.*`), so the regex catch-all cannot outrank it (see test/translation/mesh-routing.test.ts).
      ['/.*', undefined],
      ['/all.*', undefined],
    ]);
    for (const mesh of ['istio', 'gateway-api', 'appmesh', 'gloo'] as const)
      for (const o of ok(split, mesh, options).objects) expect(crdProblems(o), mesh).toEqual([]);
  });

  it('refuses a header name that is not a valid HTTP header, for every mesh, before writing', () => {
    const split: KubeObject = {
      ...rollout('v1alpha4'),
      spec: {
        ...(rollout('v1alpha4').spec as object),
        matches: [{ kind: 'HTTPRouteGroup', name: 'bad' }],
      },
    };
    const group: KubeObject = {
      apiVersion: 'specs.smi-spec.io/v1alpha4',
      kind: 'HTTPRouteGroup',
      metadata: { name: 'bad', namespace: 'shop' },
      spec: { matches: [{ name: 'spaces', headers: [{ 'X Beta': 'yes' }] }] },
    };
    for (const mesh of MESH_IDS) {
      const result = translateTrafficSplit(split, mesh, { ...withService, routeGroups: [group] });
      expect(result, mesh).toEqual({
        ok: false,
        error: 'header "x beta" is not a valid HTTP header name',
      });
    }
  });
});

describe('rounding', () => {
  it('warns when a non-zero weight rounds to 0, naming the backend', () => {
    for (const mesh of ['istio', 'appmesh'] as const) {
      const { objects, warnings } = ok(rollout('v1alpha2', [1, 500]), mesh);
      expect(weightLists(objects[0]!)).toEqual([[0, 100]]);
      expect(warnings).toContain(
        'backend reviews-v1 has a 0.2% share, which rounds to 0 in whole percents: it gets no traffic',
      );
    }
    // HTTPRoute and Gloo weights are relative: 1 against 500 is kept exactly
    // (gateway-api apis/v1/shared_types.go: "Weight is not a percentage").
    for (const mesh of ['gateway-api', 'linkerd', 'kuma', 'gloo'] as const) {
      const { objects, warnings } = ok(rollout('v1alpha2', [1, 500]), mesh);
      expect(weightLists(objects[0]!), mesh).toEqual([[1, 500]]);
      expect(warnings, mesh).toEqual([]);
    }
    // Consul keeps hundredths of a percent: 0.2% survives.
    const consul = ok(rollout('v1alpha2', [1, 500]), 'consul');
    expect(weightLists(consul.objects[0]!)).toEqual([[0.2, 99.8]]);
    expect(consul.warnings.filter((w) => /rounds to 0/.test(w))).toEqual([]);
  });

  it('500m and 1 in v1alpha1 become 33 and 67', () => {
    expect(weightLists(ok(rollout('v1alpha1', ['500m', '1']), 'istio').objects[0]!)).toEqual([
      [33, 67],
    ]);
  });
});

describe('refusals', () => {
  it('refuses a split the webhook would deny, with its reasons', () => {
    const result = translateTrafficSplit(rollout('v1alpha2', [0, 0]), 'istio');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/^spec\.backends: every backend has weight 0/);
  });

  it('asks for the root Service when a mesh needs its port', () => {
    for (const mesh of ['linkerd', 'appmesh', 'gloo'] as const) {
      const result = translateTrafficSplit(rollout('v1alpha2'), mesh);
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.error).toMatch(
          /needs the port of root Service reviews: give its Service manifest/,
        );
    }
    expect(translateTrafficSplit(rollout('v1alpha2'), 'istio').ok).toBe(true);
  });

  it('refuses limits the target cannot hold', () => {
    const many: KubeObject = {
      ...rollout('v1alpha2'),
      spec: {
        service: 'reviews',
        backends: Array.from({ length: 17 }, (_, i) => ({ service: `reviews-v${i}`, weight: 1 })),
      },
    };
    const route = translateTrafficSplit(many, 'gateway-api', withService);
    expect(route.ok === false && route.error).toMatch(/at most 16 backendRefs/);
    const mesh = translateTrafficSplit(many, 'appmesh', withService);
    expect(mesh.ok === false && mesh.error).toMatch(/at most 10 weighted targets/);
    expect(translateTrafficSplit(many, 'istio').ok).toBe(true);
  });
});

describe('every TrafficSplit of the corpus and the spec, for every mesh', () => {
  const splits: { id: string; object: KubeObject }[] = [];
  for (const file of listFiles(CORPUS, /\.ya?ml$/)) {
    loadManifest(file).objects.forEach(({ object }, i) => {
      if (object.kind === 'TrafficSplit')
        splits.push({ id: `${relative(CORPUS, file)}#${i}`, object });
    });
  }
  for (const version of VERSIONS) {
    markdownExamples(version).forEach((object, i) => {
      if (object.kind === 'TrafficSplit' && !(object.spec as any).matches)
        splits.push({ id: `smi-spec ${version} example ${i}`, object });
    });
  }

  it('finds them all', () => {
    expect(splits.length).toBeGreaterThanOrEqual(30);
  });

  for (const mesh of MESH_IDS) {
    it(`${mesh}: each translates into objects valid against the upstream CRD`, () => {
      for (const { id, object } of splits) {
        const result = translateTrafficSplit(object, mesh, { ports: [8080] });
        if (!result.ok) throw new Error(`${id}: ${result.error}`);
        for (const o of result.objects) {
          expect(crdProblems(o), id).toEqual([]);
          for (const list of weightLists(o)) {
            if (RELATIVE_KINDS.includes(String(o.kind)))
              expect(
                list.every((w) => Number.isInteger(w) && w >= 0) && list.some((w) => w > 0),
                id,
              ).toBe(true);
            else
              expect(
                list.reduce((a, b) => a + b, 0),
                id,
              ).toBeCloseTo(100, 6);
          }
        }
      }
    });
  }
});

describe('the CRD check used above', () => {
  it('catches a wrong type, a value out of range and a field the API server would prune', () => {
    const good = ok(rollout('v1alpha2'), 'appmesh').objects[0]!;
    expect(crdProblems(good)).toEqual([]);
    const bad = structuredClone(good) as any;
    bad.spec.routes[0].httpRoute.action.weightedTargets[0].weight = 101;
    bad.spec.routes[0].httpRoute.action.weightedTargets[1].weight = '10';
    bad.spec.routes[0].httpRoute.match.prefixx = '/';
    expect(crdProblems(bad)).toEqual([
      '/spec/routes/0/httpRoute/action/weightedTargets/0/weight must be <= 100',
      '/spec/routes/0/httpRoute/action/weightedTargets/1/weight must be integer',
      '/spec/routes/0/httpRoute/match/prefixx is not in the schema (the API server would prune it)',
    ]);
  });
});

describe('root Services without a TCP port', () => {
  it('still translate for meshes that need no port, and say so for those that do', () => {
    const external: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reviews', namespace: 'shop' },
      spec: { type: 'ExternalName', externalName: 'reviews.example.com' },
    };
    expect(translateTrafficSplit(rollout('v1alpha2'), 'istio', { services: [external] }).ok).toBe(
      true,
    );
    expect(translateTrafficSplit(rollout('v1alpha2'), 'gloo', { services: [external] })).toEqual({
      ok: false,
      error:
        'gateway.solo.io/v1 RouteTable needs a TCP port of root Service reviews, which has none',
    });
  });
});
