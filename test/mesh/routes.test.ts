import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { readWeightedRoutes, type RouteReadResult } from '../../src/mesh/routes.js';
import { formatPercent, shares, sharesById } from '../../src/traffic/rational.js';
import {
  CORPUS,
  FIXTURES,
  listFiles,
  loadManifest,
  markdownExamples,
  SHARED_REFERENCE,
} from '../traffic/fixtures.js';

/** One line per read object: `key: backend=weight, ...; key: ...`, or why it was refused. */
function summary(result: RouteReadResult): string {
  if (!result.supported) return `unsupported`;
  const routes = result.splits.map(
    (s) => `${s.key}: ${s.backends.map((b) => `${b.name}=${b.weight}`).join(', ')}`,
  );
  const errors = result.errors.map((e) => `! ${e.path}: ${e.message}`);
  return [...routes, ...errors].join('; ') || '(no weighted routes)';
}

/**
 * What every route object of the corpus reads as. Objects of other kinds (Services,
 * Deployments, VirtualNodes, DestinationRules, ...) must come back unsupported.
 */
const EXPECTED: Record<string, string> = {
  'aws-app-mesh-controller-for-k8s/config/samples/appmesh_v1beta2_virtualrouter.yaml#0':
    '! spec.routes: is missing: a VirtualRouter needs routes with weightedTargets',
  'aws-app-mesh-examples/examples/apps/djapp/3_canary_new_version/v2_app.yaml#0':
    'jazz-route: jazz-v1=95, jazz-v2=5',
  'aws-app-mesh-examples/examples/apps/djapp/3_canary_new_version/v2_app.yaml#1':
    'metal-route: metal-v1=95, metal-v2=5',
  'aws-app-mesh-examples/walkthroughs/eks-getting-started/infrastructure/appmesh_templates/appmesh-virtual-router-appserver-v1-v2.yaml#0':
    'route-to-yelb-appserver: yelb-appserver=1, yelb-appserver-v2=1',
  'aws-app-mesh-examples/walkthroughs/eks-getting-started/infrastructure/appmesh_templates/appmesh-virtual-router-appserver-v2.yaml#0':
    'route-to-yelb-appserver: yelb-appserver-v2=1',
  'aws-app-mesh-examples/walkthroughs/howto-k8s-grpc/v1beta2/manifest.yaml.template#5':
    'route: server=1',
  'aws-app-mesh-examples/walkthroughs/howto-k8s-http2/v1beta2/manifest.yaml.template#7':
    'color-route: red=1, blue=1, green=1',
  'consul-k8s/acceptance/tests/fixtures/bases/crds-oss/servicesplitter.yaml#2':
    'splits: splitter=100',
  'consul-k8s/control-plane/config/samples/consul_v1alpha1_servicesplitter.yaml#0':
    '! spec.splits: is missing: a ServiceSplitter needs splits with weights summing to 100',
  'emojivoto/training/traffic-split/100-0.yml#0': 'backends: web-svc=0, web-svc-2=1000',
  'emojivoto/training/traffic-split/75-25.yml#0': 'backends: web-svc=250, web-svc-2=750',
  'emojivoto/training/traffic-split/web-svc-ts.yml#0': 'backends: web-svc=500, web-svc-2=500',
  'gateway-api/examples/standard/traffic-splitting/grpc-traffic-split-2.yaml#0':
    'rules[0]: foo-v1=90, foo-v2=10',
  'gateway-api/examples/standard/traffic-splitting/simple-split.yaml#0':
    'rules[0]: foo-v1=90, foo-v2=10',
  'gateway-api/examples/standard/traffic-splitting/traffic-split-1.yaml#0':
    'rules[0]: foo-v1=1; rules[1]: foo-v2=1',
  'gateway-api/examples/standard/traffic-splitting/traffic-split-2.yaml#0':
    'rules[0]: foo-v1=90, foo-v2=10',
  'gateway-api/examples/standard/traffic-splitting/traffic-split-3.yaml#0':
    'rules[0]: foo-v1=0, foo-v2=1',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/1-setup/vs.yaml#0':
    'routes[0]: echo=100',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/2-initial-subset-routing-to-v2/vs-1.yaml#0':
    'routes[0]: echo (version=v1)=100',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/2-initial-subset-routing-to-v2/vs-2.yaml#0':
    'routes[0]: echo (version=v2)=100; routes[1]: echo (version=v1)=100',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2/vs-1.yaml#0':
    'routes[0]: echo (version=v2)=100; routes[1]: echo (version=v1)=100, echo (version=v2)=0',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2/vs-2.yaml#0':
    'routes[0]: echo (version=v2)=100; routes[1]: echo (version=v1)=50, echo (version=v2)=50',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2/vs-3.yaml#0':
    'routes[0]: echo (version=v2)=100; routes[1]: echo (version=v1)=0, echo (version=v2)=100',
  'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/4-decommissioning-v1/vs.yaml#0':
    'routes[0]: echo (version=v2)=100',
  'gloo-ref-arch/two-phased-canary/part2/rt-foxtrot-3.yaml#0':
    'routes[0]: foxtrot (version=v2)=100; routes[1]: foxtrot (version=v1)=100, foxtrot (version=v2)=0',
  // Only delegating routes: read, but nothing is weighted here.
  'gloo-ref-arch/two-phased-canary/part2/vs.yaml#0': '(no weighted routes)',
  'istio/samples/bookinfo/gateway-api/route-reviews-50-v3.yaml#0':
    'rules[0]: reviews-v1=50, reviews-v3=50',
  'istio/samples/bookinfo/gateway-api/route-reviews-90-10.yaml#0':
    'rules[0]: reviews-v1=90, reviews-v2=10',
  'istio/samples/bookinfo/networking/virtual-service-all-v1.yaml#0':
    'http[0]: productpage (subset v1)=100',
  'istio/samples/bookinfo/networking/virtual-service-all-v1.yaml#1':
    'http[0]: reviews (subset v1)=100',
  'istio/samples/bookinfo/networking/virtual-service-all-v1.yaml#2':
    'http[0]: ratings (subset v1)=100',
  'istio/samples/bookinfo/networking/virtual-service-all-v1.yaml#3':
    'http[0]: details (subset v1)=100',
  'istio/samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml#0':
    'http[0]: reviews (subset v1)=50, reviews (subset v3)=50',
  'istio/samples/bookinfo/networking/virtual-service-reviews-80-20.yaml#0':
    'http[0]: reviews (subset v1)=80, reviews (subset v2)=20',
  'istio/samples/bookinfo/networking/virtual-service-reviews-90-10.yaml#0':
    'http[0]: reviews (subset v1)=90, reviews (subset v2)=10',
  'istio/samples/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml#0':
    'http[0]: reviews (subset v2)=100; http[1]: reviews (subset v3)=100',
  'istio/samples/bookinfo/networking/virtual-service-reviews-v2-v3.yaml#0':
    'http[0]: reviews (subset v2)=50, reviews (subset v3)=50',
  'istio/samples/helloworld/gateway-api/helloworld-route.yaml#0':
    'rules[0]: helloworld-v1=90, helloworld-v2=10',
  'istio-old/v1alpha3/samples/bookinfo/networking/virtual-service-reviews-50-v3.yaml#0':
    'http[0]: reviews (subset v1)=50, reviews (subset v3)=50',
  'learn-consul-kubernetes/content/custom-resource-definitions/service-splitter.yaml#0':
    'splits: frontend (subset v1)=97, frontend (subset v2)=3',
  'linkerd-smi/test/testdata/traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=0',
  'linkerd-smi/test/testdata/updated-traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=500',
  'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha1/traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=0',
  'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha1/updated-traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=500',
  'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha2/traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=0',
  'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha2/updated-traffic-split-leaf-weights.yaml#0':
    'backends: backend-svc=500, failing-svc=500',
  'osm/docs/example/manifests/samples/canary/httpbin-split.yaml#0':
    'backends: httpbin-v1=50, httpbin-v2=50',
  'osm/docs/example/manifests/split/traffic-split-50-50.yaml#0':
    'backends: bookstore=50, bookstore-v2=50',
  'osm/docs/example/manifests/split/traffic-split-v1.yaml#0': 'backends: bookstore-v1=100',
  'shipyard-blueprints/consul-k8s-crds/crds/api-service-splitter.yaml#0':
    'splits: api (subset v1)=50, api (subset v2)=50',
  'traefik-mesh/integration/testdata/acl_enabled/traffic-split/1.server-split.yaml#5':
    'backends: server-http-split-v1=50, server-http-split-v2=50',
};

/** Route-like kinds of the corpus that meshwarden does not read, with the reason it gives. */
const REFUSED: Record<string, RegExp> = {
  'aws-app-mesh-examples/examples/apps/djapp/legacy/5_canary/jazz_service_update.yaml#0':
    /appmesh\.k8s\.aws\/v1beta1 VirtualService carries no weights.*VirtualRouter/,
};

const manifests = listFiles(CORPUS, /\.(ya?ml|template)$/);

describe('every route object of the corpus', () => {
  const seen = new Set<string>();
  for (const file of manifests) {
    const rel = relative(CORPUS, file);
    it(`${rel} reads as expected`, () => {
      const { objects, errors } = loadManifest(file);
      expect(errors).toEqual([]);
      objects.forEach(({ object }, i) => {
        const id = `${rel}#${i}`;
        const result = readWeightedRoutes(object);
        seen.add(id);
        const refused = REFUSED[id];
        if (refused) {
          expect(result.supported).toBe(false);
          if (!result.supported) expect(result.reason).toMatch(refused);
        } else if (EXPECTED[id] !== undefined) {
          expect(result.supported, id).toBe(true);
          expect(summary(result), id).toBe(EXPECTED[id]);
        } else {
          expect(result.supported, `${id} (${String(object.kind)})`).toBe(false);
          if (!result.supported) expect(result.reason).toMatch(/is not a|carries no weights/);
        }
      });
    });
  }
  it('covers every expected object', () => {
    for (const id of [...Object.keys(EXPECTED), ...Object.keys(REFUSED)])
      expect(seen.has(id) || manifests.length === 0, id).toBe(true);
    expect(manifests.length).toBeGreaterThanOrEqual(40);
  });
});

describe('the smi-spec examples (fenced YAML in the spec Markdown)', () => {
  const weights = (o: KubeObject) => {
    const r = readWeightedRoutes(o);
    if (!r.supported) throw new Error(r.reason);
    expect(r.errors).toEqual([]);
    return r.splits.map((s) => s.backends.map((b) => `${b.name}=${b.weight}`).join(', '));
  };
  const splits = (version: string) =>
    markdownExamples(version).filter((o) => o.kind === 'TrafficSplit');

  it('v1alpha1 reads quantities as milli-values', () => {
    expect(splits('v1alpha1').flatMap(weights)).toEqual([
      'one=10, two=100, three=1500',
      'foobar-v1=1000, foobar-v2=0',
      'foobar-v1=1000, foobar-v2=500',
      'foobar-v2=1000',
      'foobar-next=100, foobar=900',
      'web-next=100, web-current=900',
    ]);
  });

  it('v1alpha2 reads whole numbers', () => {
    expect(splits('v1alpha2').flatMap(weights)).toEqual([
      'my-website-v1=50, my-website-v2=50',
      'foobar-v1=100, foobar-v2=0',
      'foobar-v1=1000, foobar-v2=500',
      'foobar-v2=1',
      'foobar-next=100, foobar=900',
      'web-next=100, web-current=900',
    ]);
  });

  it.each(['v1alpha3', 'v1alpha4'])('%s reads whole numbers and HTTPRouteGroup matches', (v) => {
    const list = splits(v);
    expect(list.flatMap(weights)).toEqual([
      'website-v1=90, website-v2=10',
      'website-v1=0, website-v2=100',
      'foobar-v1=100, foobar-v2=0',
      'foobar-v1=1000, foobar-v2=500',
      'foobar-v2=1',
      'foobar-next=100, foobar=900',
      'web-next=100, web-current=900',
    ]);
    const ab = readWeightedRoutes(list[1]!);
    expect(ab.supported && ab.splits[0]?.matchRefs).toEqual([
      { kind: 'HTTPRouteGroup', name: 'ab-test', path: 'spec.matches[0]' },
    ]);
  });

  it('gives the shares the spec text states (1 and 500m is about 33%)', () => {
    const r = readWeightedRoutes(splits('v1alpha1')[2]!);
    expect(r.supported && shares(r.splits[0]!)!.map((s) => formatPercent(s))).toEqual([
      '66.7%',
      '33.3%',
    ]);
  });
});

describe('the read API, as the weight-shift guard uses it', () => {
  const gloo = (file: string) => {
    const { objects } = loadManifest(join(CORPUS, 'gloo-ref-arch/platform/prog-delivery', file));
    const r = readWeightedRoutes(objects[0]!.object);
    if (!r.supported) throw new Error(r.reason);
    return r;
  };

  it('pairs old and new routes by key and backends by id, with exact shares', () => {
    const before = gloo('two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2/vs-1.yaml');
    const after = gloo('two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2/vs-2.yaml');
    expect(before.kind).toBe('gloo-virtualservice');
    expect(before.source).toMatchObject({
      kind: 'VirtualService',
      group: 'gateway.solo.io',
      namespace: 'gloo-system',
      name: 'echo',
    });
    const oldRoute = before.splits.find((s) => s.key === 'routes[1]')!;
    const newRoute = after.splits.find((s) => s.key === oldRoute.key)!;
    expect(newRoute.label).toBe('route 1');
    const oldShares = sharesById(oldRoute)!;
    const newShares = sharesById(newRoute)!;
    const v2 = newRoute.backends[1]!;
    expect(v2.name).toBe('echo (version=v2)');
    expect(oldShares.get(v2.id)).toEqual({ num: 0n, den: 1n });
    expect(newShares.get(v2.id)).toEqual({ num: 1n, den: 2n });
  });

  it('keys named routes by name, so reordering keeps the pairing', () => {
    const vs = (names: string[]) =>
      readWeightedRoutes({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'reviews', namespace: 'shop' },
        spec: {
          hosts: ['reviews'],
          http: names.map((name) => ({ name, route: [{ destination: { host: name } }] })),
        },
      });
    const a = vs(['canary', 'stable']);
    const b = vs(['stable', 'canary']);
    expect(a.supported && a.splits.map((s) => s.key)).toEqual(['canary', 'stable']);
    expect(b.supported && b.splits.find((s) => s.key === 'canary')?.path).toBe('spec.http[1]');
    expect(b.supported && b.splits.find((s) => s.key === 'canary')?.label).toBe('route "canary"');
  });

  it('has no shares for a route whose weights are all zero', () => {
    const r = readWeightedRoutes({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'a', port: 80, weight: 0 },
              { name: 'b', port: 80, weight: 0 },
            ],
          },
        ],
      },
    });
    expect(r.supported && shares(r.splits[0]!)).toBeUndefined();
  });

  it('reads a multi-destination Istio route without weights as zero for the unweighted ones', () => {
    const r = readWeightedRoutes({
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'r', namespace: 'x' },
      spec: {
        hosts: ['r'],
        http: [
          { route: [{ destination: { host: 'a' }, weight: 100 }, { destination: { host: 'b' } }] },
        ],
        tcp: [{ route: [{ destination: { host: 'a', port: { number: 5432 } } }] }],
      },
    });
    expect(r.supported && summary(r)).toBe('http[0]: a=100, b=0; tcp[0]: a:5432=100');
    expect(r.supported && r.splits[1]?.label).toBe('tcp route 0');
  });

  it('locates what it cannot read and keeps the rest', () => {
    const r = readWeightedRoutes({
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'x' },
      spec: {
        rules: [
          { backendRefs: [{ name: 'a', port: 80, weight: -1 }] },
          {
            name: 'good',
            backendRefs: [
              { name: 'b', port: 80 },
              { name: 'c', port: 80, weight: 3 },
            ],
          },
        ],
      },
    });
    expect(r.supported && summary(r)).toBe(
      'good: b=1, c=3; ! spec.rules[0].backendRefs[0].weight: backend a has weight -1, which is negative: set a whole number from 0 to 1000000',
    );
  });

  it('reads Consul percentages exactly, whatever their decimals', () => {
    const r = readWeightedRoutes({
      apiVersion: 'consul.hashicorp.com/v1alpha1',
      kind: 'ServiceSplitter',
      metadata: { name: 'web', namespace: 'x' },
      spec: {
        splits: [
          { weight: 33.33, service: 'web-v1' },
          { weight: 66.67, serviceSubset: 'v2' },
          { service: 'web-v3' },
        ],
      },
    });
    expect(r.supported && summary(r)).toBe('splits: web-v1=3333, web (subset v2)=6667, web-v3=0');
  });

  it('refuses objects of other kinds and versions with a reason', () => {
    const reason = (o: KubeObject) => {
      const r = readWeightedRoutes(o);
      return r.supported ? 'read' : r.reason;
    };
    expect(reason({ apiVersion: 'split.smi-spec.io/v1beta1', kind: 'TrafficSplit' })).toMatch(
      /split\.smi-spec\.io\/v1beta1 TrafficSplit is not a version meshwarden reads; it reads split\.smi-spec\.io TrafficSplit v1alpha1, v1alpha2, v1alpha3, v1alpha4/,
    );
    expect(reason({ kind: 'TrafficSplit' })).toMatch(/is not a weighted-route kind/);
    expect(reason({})).toMatch(/without apiVersion and kind/);
  });
});

describe('the traffic fixtures', () => {
  it('each file names its upstream source in SOURCES.md', () => {
    const sources = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8');
    const unlisted = listFiles(FIXTURES, /./)
      .map((file) => relative(FIXTURES, file))
      .filter((rel) => rel !== 'SOURCES.md' && !sources.includes(`| \`${rel}\``));
    expect(unlisted).toEqual([]);
  });
});

describe('the shared reference corpus, when present', () => {
  const corpus = join(SHARED_REFERENCE, 'corpus');
  it(
    existsSync(corpus)
      ? 'every copied fixture is byte-identical to it'
      : 'is absent here (fresh clone): the fixture copies above stand in for it',
    () => {
      if (!existsSync(corpus)) {
        expect(manifests.length).toBeGreaterThan(0);
        return;
      }
      for (const file of listFiles(CORPUS, /./)) {
        const rel = relative(CORPUS, file);
        expect(readFileSync(file).equals(readFileSync(join(corpus, rel))), rel).toBe(true);
      }
      // Some CRDs came straight from upstream (SOURCES.md names them); the ones the shared
      // reference also holds must be the same bytes.
      let compared = 0;
      for (const file of listFiles(join(FIXTURES, 'crds'), /./)) {
        const rel = relative(join(FIXTURES, 'crds'), file);
        const shared = join(SHARED_REFERENCE, 'crds', rel);
        if (!existsSync(shared)) continue;
        expect(readFileSync(file).equals(readFileSync(shared)), rel).toBe(true);
        compared += 1;
      }
      expect(compared).toBeGreaterThan(0);
    },
  );

  it(
    existsSync(corpus)
      ? 'no object of any corpus file makes a reader throw'
      : 'is absent here: nothing more to sweep',
    () => {
      if (!existsSync(corpus)) {
        expect(existsSync(corpus)).toBe(false);
        return;
      }
      let routes = 0;
      for (const file of listFiles(corpus, /\.(ya?ml|json|template)$/)) {
        const { objects } = loadManifest(file);
        for (const { object } of objects) {
          const r = readWeightedRoutes(object);
          if (r.supported) routes += 1;
        }
      }
      expect(routes).toBeGreaterThanOrEqual(50);
    },
  );
});
