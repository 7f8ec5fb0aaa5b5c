/**
 * The ways around a guard that compares routes by key, each as an old/new pair on every kind it
 * applies to. Every one moves untargeted traffic to a backend other than the stable one in a
 * single apply, so every one is refused.
 */
import { describe, expect, it } from 'vitest';
import {
  admit,
  annotations,
  applyAll,
  guardEngine,
  validateOnly,
  withMeta,
  type Obj,
} from './guard-harness.js';

type Dest = readonly [string, number];
const v1only: Dest[] = [['v1', 100]];
const v2only: Dest[] = [['v2', 100]];

/** Istio: destinations are subsets of reviews, written short or as FQDN. */
function vs(http: Obj[], hosts: string[] = ['reviews'], extra: Obj = {}): Obj {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: { hosts, http, ...extra },
  };
}
const istioRoute = (dests: readonly Dest[], more: Obj = {}): Obj => ({
  ...more,
  route: dests.map(([subset, weight]) => ({ destination: { host: 'reviews', subset }, weight })),
});

function httpRoute(rules: Obj[], parent = 'reviews'): Obj {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: parent, port: 9080 }], rules },
  };
}
const rule = (dests: readonly Dest[], more: Obj = {}): Obj => ({
  ...more,
  backendRefs: dests.map(([v, weight]) => ({ name: `reviews-${v}`, port: 9080, weight })),
});

function gloo(routes: Obj[], domains = ['*']): Obj {
  return {
    apiVersion: 'gateway.solo.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'echo', namespace: 'gloo-system' },
    spec: { virtualHost: { domains, routes } },
  };
}
const glooRoute = (dests: readonly Dest[], more: Obj = {}): Obj => ({
  ...more,
  routeAction: {
    multi: {
      destinations: dests.map(([v, weight]) => ({
        destination: {
          upstream: { name: 'echo', namespace: 'gloo-system' },
          subset: { values: { version: v } },
        },
        weight,
      })),
    },
  },
});

function router(routes: Obj[]): Obj {
  return {
    apiVersion: 'appmesh.k8s.aws/v1beta2',
    kind: 'VirtualRouter',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: { listeners: [{ portMapping: { port: 9080, protocol: 'http' } }], routes },
  };
}
const meshRoute = (
  name: string,
  dests: readonly Dest[],
  match: Obj = { prefix: '/' },
  more: Obj = {},
): Obj => ({
  name,
  ...more,
  httpRoute: {
    match,
    action: {
      weightedTargets: dests.map(([v, weight]) => ({
        virtualNodeRef: { name: `reviews-${v}` },
        weight,
      })),
    },
  },
});

function split(version: string, dests: readonly Dest[], more: Obj = {}, service = 'reviews'): Obj {
  return {
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      service,
      backends: dests.map(([v, weight]) => ({ service: `reviews-${v}`, weight })),
      ...more,
    },
  };
}

async function refused(oldObject: Obj, object: Obj, pattern?: RegExp) {
  const r = await admit(guardEngine(), object, oldObject);
  expect(r.allowed, r.message).toBe(false);
  if (pattern) expect(r.message).toMatch(pattern);
  return r;
}

const canaryHeader = { headers: { stage: { exact: 'canary' } } };

describe('renaming a route', () => {
  it('Istio: the renamed route is new and sends 100% to v2, which had 0%', async () => {
    const r = await refused(
      vs([istioRoute(v1only, { name: 'main' })]),
      vs([istioRoute(v2only, { name: 'main-v2' })]),
    );
    expect(r.message).toBe(
      'VirtualService shop/reviews: route "main-v2" is new and sends 100% of reviews.shop.svc.cluster.local to reviews (subset v2), which had 0% (stable: reviews (subset v1)) (+100 points); ' +
        'the policy allows +20 per update: step through 20%, 40%, 60%, 80%, 100%, or annotate meshwarden.io/allow-weight-jump with a reason (allowed for system:masters)',
    );
  });
  it('HTTPRoute rule', () =>
    refused(
      httpRoute([rule(v1only, { name: 'main' })]),
      httpRoute([rule(v2only, { name: 'next' })]),
      /rule "next" is new and sends 100%/,
    ));
  it('App Mesh route', () =>
    refused(
      router([meshRoute('main', v1only)]),
      router([meshRoute('next', v2only)]),
      /route "next" is new/,
    ));
  it('Gloo route', () =>
    refused(
      gloo([glooRoute(v1only, { name: 'main' })]),
      gloo([glooRoute(v2only, { name: 'next' })]),
    ));
});

describe('adding a catch-all route in front', () => {
  it('Istio', () =>
    refused(
      vs([istioRoute(v1only)]),
      vs([istioRoute(v2only), istioRoute(v1only)]),
      /reviews \(subset v2\)/,
    ));
  it('Gloo', () =>
    refused(gloo([glooRoute(v1only)]), gloo([glooRoute(v2only), glooRoute(v1only)])));
  it('HTTPRoute (same specificity: the earlier rule wins)', () =>
    refused(httpRoute([rule(v1only)]), httpRoute([rule(v2only), rule(v1only)])));
  it('App Mesh (a lower priority number)', () =>
    refused(
      router([meshRoute('main', v1only, { prefix: '/' }, { priority: 10 })]),
      router([
        meshRoute('front', v2only, { prefix: '/' }, { priority: 1 }),
        meshRoute('main', v1only, { prefix: '/' }, { priority: 10 }),
      ]),
    ));
});

describe('reordering unnamed routes', () => {
  it('Istio: a shadowed route moved to the front', () =>
    refused(
      vs([istioRoute(v1only), istioRoute(v2only)]),
      vs([istioRoute(v2only), istioRoute(v1only)]),
    ));
  it('Gloo', () =>
    refused(
      gloo([glooRoute(v1only), glooRoute(v2only)]),
      gloo([glooRoute(v2only), glooRoute(v1only)]),
    ));
  it('HTTPRoute', () =>
    refused(httpRoute([rule(v1only), rule(v2only)]), httpRoute([rule(v2only), rule(v1only)])));
  it('App Mesh routes without priority: either may come first, so the least favourable is taken', () =>
    refused(
      router([meshRoute('a', v1only), meshRoute('b', v2only)]),
      router([meshRoute('b', v2only), meshRoute('a', v1only)]),
    ));
});

// The new object's conditions are read for themselves even when its routes look like the old
// one's: probes are built per set of conditions, and only equal conditions share them.
describe('moving a match to other requests, weights untouched', () => {
  it('Istio: an exact path moved from /a to /b sends /b from v1 to v2', () =>
    refused(
      vs([istioRoute(v2only, { match: [{ uri: { exact: '/a' } }] }), istioRoute(v1only)]),
      vs([istioRoute(v2only, { match: [{ uri: { exact: '/b' } }] }), istioRoute(v1only)]),
      /\/b/,
    ));
  it('Istio: a method match moved from GET to POST', () =>
    refused(
      vs([istioRoute(v2only, { match: [{ method: { exact: 'GET' } }] }), istioRoute(v1only)]),
      vs([istioRoute(v2only, { match: [{ method: { exact: 'POST' } }] }), istioRoute(v1only)]),
      /POST/,
    ));
  it('HTTPRoute: an exact path moved from /a to /b', () =>
    refused(
      httpRoute([
        rule(v2only, { matches: [{ path: { type: 'Exact', value: '/a' } }] }),
        rule(v1only),
      ]),
      httpRoute([
        rule(v2only, { matches: [{ path: { type: 'Exact', value: '/b' } }] }),
        rule(v1only),
      ]),
      /\/b/,
    ));
});

describe('dropping or widening a header match', () => {
  const istioAb = (m: Obj | undefined) =>
    vs([istioRoute(v2only, m ? { match: [m] } : {}), istioRoute(v1only)]);
  it('Istio: dropped', () =>
    refused(istioAb(canaryHeader), istioAb(undefined), /now serves|would rise/));
  it('Istio: widened with an untargeted alternative', async () => {
    const widened = vs([
      istioRoute(v2only, { match: [canaryHeader, { uri: { prefix: '/' } }] }),
      istioRoute(v1only),
    ]);
    await refused(istioAb(canaryHeader), widened);
  });
  it('Istio: turned into withoutHeaders (matches every request without the header)', () =>
    refused(istioAb(canaryHeader), istioAb({ withoutHeaders: { stage: { exact: 'canary' } } })));
  const glooAb = (matchers: Obj[]) => gloo([glooRoute(v2only, { matchers }), glooRoute(v1only)]);
  it('Gloo: dropped', () =>
    refused(
      glooAb([{ headers: [{ name: 'stage', value: 'canary' }], prefix: '/' }]),
      glooAb([{ prefix: '/' }]),
    ));
  it('Gloo: inverted', () =>
    refused(
      glooAb([{ headers: [{ name: 'stage', value: 'canary' }], prefix: '/' }]),
      glooAb([{ headers: [{ name: 'stage', value: 'canary', invertMatch: true }], prefix: '/' }]),
    ));
  const httpAb = (matches: Obj[]) => httpRoute([rule(v2only, { matches }), rule(v1only)]);
  it('HTTPRoute: dropped', () =>
    refused(
      httpAb([{ headers: [{ name: 'stage', value: 'canary' }] }]),
      httpAb([{ path: { type: 'PathPrefix', value: '/' } }]),
    ));
  const meshAb = (match: Obj) =>
    router([
      meshRoute('canary', v2only, match, { priority: 1 }),
      meshRoute('main', v1only, { prefix: '/' }, { priority: 2 }),
    ]);
  it('App Mesh: dropped', () =>
    refused(
      meshAb({ prefix: '/', headers: [{ name: 'stage', match: { exact: 'canary' } }] }),
      meshAb({ prefix: '/' }),
    ));
  it('App Mesh: inverted', () =>
    refused(
      meshAb({ prefix: '/', headers: [{ name: 'stage', match: { exact: 'canary' } }] }),
      meshAb({
        prefix: '/',
        headers: [{ name: 'stage', match: { exact: 'canary' }, invert: true }],
      }),
    ));
});

describe('appending a more specific Gateway API rule', () => {
  it('PathPrefix / with method GET outranks the catch-all, wherever it is written', async () => {
    const r = await refused(
      httpRoute([rule(v1only)]),
      httpRoute([
        rule(v1only),
        rule(v2only, { matches: [{ path: { type: 'PathPrefix', value: '/' }, method: 'GET' }] }),
      ]),
    );
    expect(r.message).toMatch(
      /rule 1 is new and sends 100% of GET requests for reviews\.shop\.svc\.cluster\.local:9080 to reviews-v2/,
    );
  });
  it('an Exact path outranks a longer prefix', () =>
    refused(
      httpRoute([
        rule(v1only, { matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }] }),
        rule(v1only),
      ]),
      httpRoute([
        rule(v1only, { matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }] }),
        rule(v1only),
        rule(v2only, { matches: [{ path: { type: 'Exact', value: '/api/v1' } }] }),
      ]),
    ));
  it('GRPCRoute: a method match outranks the catch-all', () => {
    const grpc = (rules: Obj[]): Obj => ({
      ...httpRoute(rules),
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
    });
    return refused(
      grpc([rule(v1only)]),
      grpc([
        rule(v1only),
        rule(v2only, { matches: [{ method: { service: 'reviews.Reviews', method: 'Get' } }] }),
      ]),
    );
  });
});

describe('TrafficSplit matches', () => {
  const ab = (more: Obj) =>
    split(
      'v1alpha4',
      [
        ['v1', 0],
        ['v2', 100],
      ],
      more,
    );
  it('removing matches sends everything to the weights that only matched requests had', () =>
    refused(ab({ matches: [{ kind: 'HTTPRouteGroup', name: 'canary-users' }] }), ab({})));
  it('a step within a split that keeps its matches is judged as a step', async () => {
    const step = (v2: number) =>
      split(
        'v1alpha4',
        [
          ['v1', 100 - v2],
          ['v2', v2],
        ],
        { matches: [{ kind: 'HTTPRouteGroup', name: 'canary-users' }] },
      );
    expect((await admit(guardEngine(), step(40), step(20))).allowed).toBe(true);
    expect((await admit(guardEngine(), step(70), step(20))).allowed).toBe(false);
  });
});

describe('pointing the same routes at other traffic', () => {
  it('Istio hosts: a host new to the object moves from nothing', () =>
    refused(
      vs([istioRoute(v1only)], ['reviews']),
      vs(
        [
          istioRoute([
            ['v1', 90],
            ['v2', 10],
          ]),
        ],
        ['ratings'],
      ),
      /ratings\.shop\.svc\.cluster\.local is new to this object, so its traffic counts as moving from nothing/,
    ));
  it('Istio hosts respelled (FQDN, upper case, trailing dot, listed twice) are the same root', async () => {
    const respelled = [
      'Reviews.shop.svc.cluster.local.',
      'reviews',
      'reviews.shop.svc.cluster.local',
    ];
    const half: Dest[] = [
      ['v1', 50],
      ['v2', 50],
    ];
    const r = await refused(
      vs([istioRoute(v1only)], ['reviews']),
      vs([istioRoute(half)], respelled),
      /would rise from 0% to 50% \(\+50 points\)/,
    );
    expect(r.message).not.toMatch(/new to this object/);
    const step = await admit(
      guardEngine(),
      vs(
        [
          istioRoute([
            ['v1', 90],
            ['v2', 10],
          ]),
        ],
        respelled,
      ),
      vs([istioRoute(v1only)], ['reviews']),
    );
    expect(step.allowed, step.message).toBe(true);
    // The old object's majority is its stable backend (it carries no stable record).
    const rollback = await admit(
      guardEngine(),
      vs([istioRoute(v1only)], ['reviews']),
      vs(
        [
          istioRoute([
            ['v1', 60],
            ['v2', 40],
          ]),
        ],
        respelled,
      ),
    );
    expect(rollback.allowed, rollback.message).toBe(true);
  });
  it('a subset name too long to be cached is judged the same', async () => {
    const long = `v2-${'x'.repeat(400)}`;
    await refused(
      vs([istioRoute(v1only)]),
      vs([
        istioRoute([
          ['v1', 50],
          [long, 50],
        ]),
      ]),
      new RegExp(`subset ${long}\\) would rise from 0% to 50%`),
    );
  });
  it('Istio gateways: the ingress traffic is new', () =>
    refused(
      vs([istioRoute(v1only)]),
      vs([istioRoute(v1only)], ['reviews'], { gateways: ['mesh', 'edge'] }),
      /gateway shop\/edge/,
    ));
  it('HTTPRoute parentRefs', () =>
    refused(
      httpRoute([rule(v1only)]),
      httpRoute([rule(v1only)], 'ratings'),
      /ratings\.shop\.svc\.cluster\.local:9080 is new/,
    ));
  it('TrafficSplit spec.service', () =>
    refused(
      split('v1alpha2', [
        ['v1', 100],
        ['v2', 0],
      ]),
      split(
        'v1alpha2',
        [
          ['v1', 100],
          ['v2', 0],
        ],
        {},
        'ratings',
      ),
    ));
  it('Gloo domains', () =>
    refused(
      gloo([glooRoute(v1only)], ['echo.example.com']),
      gloo([glooRoute(v1only)], ['shop.example.com']),
    ));
  it('narrowing a parent to one of its ports, or * to one domain, is not new traffic', async () => {
    const portless = {
      ...httpRoute([
        rule([
          ['v1', 90],
          ['v2', 10],
        ]),
      ]),
      spec: {
        parentRefs: [{ group: '', kind: 'Service', name: 'reviews' }],
        rules: [
          rule([
            ['v1', 90],
            ['v2', 10],
          ]),
        ],
      },
    };
    expect(
      (
        await admit(
          guardEngine(),
          httpRoute([
            rule([
              ['v1', 80],
              ['v2', 20],
            ]),
          ]),
          portless,
        )
      ).allowed,
    ).toBe(true);
    expect(
      (
        await admit(
          guardEngine(),
          gloo(
            [
              glooRoute([
                ['v1', 80],
                ['v2', 20],
              ]),
            ],
            ['echo.example.com'],
          ),
          gloo([
            glooRoute([
              ['v1', 90],
              ['v2', 10],
            ]),
          ]),
        )
      ).allowed,
    ).toBe(true);
  });
});

describe('turning a split into a delegation', () => {
  it('Istio delegate', () =>
    refused(
      vs([istioRoute(v1only)]),
      vs([{ delegate: { name: 'reviews-v2-routes', namespace: 'shop' } }]),
      /delegate VirtualService shop\/reviews-v2-routes/,
    ));
  it('Gloo delegateAction', () =>
    refused(
      gloo([glooRoute(v1only)]),
      gloo([
        {
          matchers: [{ prefix: '/' }],
          delegateAction: { ref: { name: 'echo-rt', namespace: 'gloo-system' } },
        },
      ]),
      /delegated to gloo-system\/echo-rt/,
    ));
  it('Gloo upstreamGroup', () =>
    refused(
      gloo([glooRoute(v1only)]),
      gloo([
        {
          matchers: [{ prefix: '/' }],
          routeAction: { upstreamGroup: { name: 'echo-ug', namespace: 'gloo-system' } },
        },
      ]),
      /UpstreamGroup gloo-system\/echo-ug/,
    ));
});

describe('going through an all-zero route', () => {
  it('a new all-zero route is refused: every request to it would fail', async () => {
    const r = await refused(
      vs([istioRoute(v1only)]),
      vs([
        istioRoute([
          ['v1', 0],
          ['v2', 0],
        ]),
      ]),
      /gives every backend weight 0/,
    );
    expect(r.message).toContain('route 0');
    await refused(
      gloo([glooRoute(v1only)]),
      gloo([
        glooRoute([
          ['v1', 0],
          ['v2', 0],
        ]),
      ]),
      /weight 0/,
    );
  });
  it('an all-zero old route never counts as created', async () => {
    // Stored before meshwarden: no record, no majority.
    await refused(
      vs([
        istioRoute([
          ['v1', 0],
          ['v2', 0],
        ]),
      ]),
      vs([istioRoute(v2only)]),
      /would rise from 0% to 100%/,
    );
    await refused(
      httpRoute([
        rule([
          ['v1', 0],
          ['v2', 0],
        ]),
      ]),
      httpRoute([rule(v2only)]),
    );
  });
});

describe('an old object the reader cannot read', () => {
  it('a v1alpha1-stored TrafficSplit read as v1alpha2 is judged as sending nothing, never as unjudged', async () => {
    const stored = split('v1alpha2', [
      ['v1', 1],
      ['v2', 0],
    ]);
    (stored.spec as { backends: { weight: unknown }[] }).backends[0]!.weight = '500m';
    const r = await refused(
      stored,
      split('v1alpha2', [
        ['v1', 0],
        ['v2', 100],
      ]),
      /could not be read, so it counts as sending nothing/,
    );
    expect(r.message).toContain('reviews-v2');
  });
});

describe('the same backend written another way is not a new backend', () => {
  it('a canary written twice in one route is judged on its summed share', async () => {
    // 25 + 25 is the 50-point jump the policy refuses, however it is spelled.
    await refused(
      vs([istioRoute(v1only)]),
      vs([
        istioRoute([
          ['v1', 50],
          ['v2', 25],
          ['v2', 25],
        ]),
      ]),
      /would rise from 0% to 50% \(\+50 points\)/,
    );
    const stepped = await admit(
      guardEngine(),
      vs([
        istioRoute([
          ['v1', 80],
          ['v2', 10],
          ['v2', 10],
        ]),
      ]),
      vs([istioRoute(v1only)]),
    );
    expect(stepped.allowed, stepped.message).toBe(true);
  });
  it('reviews, reviews.shop.svc.cluster.local and an added port', async () => {
    const short = vs([
      istioRoute([
        ['v1', 90],
        ['v2', 10],
      ]),
    ]);
    const long = vs(
      [
        {
          route: [
            ['v1', 80],
            ['v2', 20],
          ].map(([subset, weight]) => ({
            destination: { host: 'reviews.shop.svc.cluster.local', subset, port: { number: 9080 } },
            weight,
          })),
        },
      ],
      ['reviews.shop.svc.cluster.local'],
    );
    expect((await admit(guardEngine(), long, short)).allowed).toBe(true);
    const noPort = httpRoute([
      {
        backendRefs: [
          { name: 'reviews-v1', weight: 90 },
          { name: 'reviews-v2', weight: 10 },
        ],
      },
    ]);
    expect(
      (
        await admit(
          guardEngine(),
          httpRoute([
            rule([
              ['v1', 80],
              ['v2', 20],
            ]),
          ]),
          noPort,
        )
      ).allowed,
    ).toBe(true);
  });
  it('but two ports of one host in one object are two backends', async () => {
    const two = vs([
      {
        route: [9080, 9081].map((n, i) => ({
          destination: { host: 'reviews', subset: 'v1', port: { number: n } },
          weight: i === 0 ? 100 : 0,
        })),
      },
    ]);
    const moved = vs([
      {
        route: [9080, 9081].map((n, i) => ({
          destination: { host: 'reviews', subset: 'v1', port: { number: n } },
          weight: i === 0 ? 0 : 100,
        })),
      },
    ]);
    await refused(two, moved, /reviews:9081 \(subset v1\) would rise from 0% to 100%/);
  });
});

describe('spreading one jump over several backends', () => {
  const fiveCanaries: Dest[] = [
    ['v1', 50],
    ['v2', 10],
    ['v3', 10],
    ['v4', 10],
    ['v5', 10],
    ['v6', 10],
  ];
  const allowed = async (oldObject: Obj, object: Obj, policy = {}) => {
    const r = await admit(guardEngine(policy), object, oldObject);
    expect(r.allowed, r.message).toBe(true);
    return r;
  };

  it('TrafficSplit: half the traffic to five new versions at 10 each is refused, naming each', async () => {
    const r = await refused(split('v1alpha4', v1only), split('v1alpha4', fiveCanaries));
    expect(r.message).toBe(
      'TrafficSplit shop/reviews: backends: 5 backends other than the stable one would together gain +50 points of reviews.shop.svc.cluster.local (stable: reviews-v1): ' +
        'reviews-v2 0%→10% (+10), reviews-v3 0%→10% (+10), reviews-v4 0%→10% (+10), reviews-v5 0%→10% (+10), reviews-v6 0%→10% (+10); ' +
        'the policy allows +20 per update for all of them together (maxTotalStepWeight): move at most 20 points per update, or annotate meshwarden.io/allow-weight-jump with a reason (allowed for system:masters)',
    );
  });
  it('on every weighted kind', async () => {
    await refused(vs([istioRoute(v1only)]), vs([istioRoute(fiveCanaries)]), /maxTotalStepWeight/);
    await refused(httpRoute([rule(v1only)]), httpRoute([rule(fiveCanaries)]), /\+50 points/);
    await refused(gloo([glooRoute(v1only)]), gloo([glooRoute(fiveCanaries)]), /together/);
    await refused(
      router([meshRoute('main', v1only)]),
      router([meshRoute('main', fiveCanaries)]),
      /maxTotalStepWeight 20|maxTotalStepWeight\)/,
    );
  });
  it('one version at 10% on each of five ports of its Service is 50 points', async () => {
    const ports = [9080, 9081, 9082, 9083, 9084];
    const dest = (subset: string, port: number, weight: number): Obj => ({
      destination: { host: 'reviews', subset, port: { number: port } },
      weight,
    });
    await refused(
      vs([{ route: [dest('v1', 9080, 100)] }]),
      vs([{ route: [dest('v1', 9080, 50), ...ports.map((p) => dest('v2', p, 10))] }]),
      /5 backends other than the stable one would together gain \+50 points of reviews\.shop\.svc\.cluster\.local/,
    );
  });
  it('moving the jump into a rule of its own, or a root new to the object, does not hide it', async () => {
    // The catch-all is renamed and split five ways: every request still moves.
    await refused(
      httpRoute([rule(v1only, { name: 'main' })]),
      httpRoute([rule(fiveCanaries, { name: 'spread' })]),
      /rule "spread": 5 backends other than the stable one would together gain \+50 points/,
    );
    const fiveAt20: Dest[] = ['v1', 'v2', 'v3', 'v4', 'v5'].map((v) => [v, 20]);
    await refused(
      vs([istioRoute(v1only)]),
      vs([istioRoute(v1only)], ['reviews', 'ratings']),
      /ratings\.shop\.svc\.cluster\.local is new to this object/,
    );
    await refused(
      vs([istioRoute(v1only)], ['reviews']),
      vs([istioRoute(fiveAt20)], ['reviews', 'ratings']),
      /ratings\.shop\.svc\.cluster\.local is new to this object, so its traffic counts as moving from nothing/,
    );
  });
  it('two canaries at 10 each, and canary traffic moved between canaries, pass', async () => {
    const two = (a: number, b: number): Dest[] => [
      ['v1', 100 - a - b],
      ['v2', a],
      ['v3', b],
    ];
    await allowed(split('v1alpha4', v1only), split('v1alpha4', two(10, 10)));
    // v2's 20 points go to v3: v3 gains 20, nobody else gains.
    await allowed(split('v1alpha4', two(20, 20)), split('v1alpha4', two(0, 40)));
    await allowed(httpRoute([rule(two(10, 10))]), httpRoute([rule(two(20, 20))]));
  });
  it('a rollback from a spread always passes', () => {
    const spread: Dest[] = [['v1', 60], ...['v2', 'v3', 'v4', 'v5'].map((v): Dest => [v, 10])];
    return allowed(split('v1alpha4', spread), split('v1alpha4', v1only));
  });
  it('targeted traffic may spread: only opt-in requests reach it', () =>
    allowed(
      vs([istioRoute(v1only)]),
      vs([istioRoute(fiveCanaries, { match: [canaryHeader] }), istioRoute(v1only)]),
    ));
  it('maxTotalStepWeight raises the total for A/B/n experiments, each backend still within maxStepWeight', async () => {
    const abn: Dest[] = [
      ['v1', 60],
      ['v2', 20],
      ['v3', 20],
    ];
    await refused(split('v1alpha4', v1only), split('v1alpha4', abn), /\+40 points/);
    await allowed(split('v1alpha4', v1only), split('v1alpha4', abn), {
      weightShift: { maxTotalStepWeight: 40 },
    });
    const r = await admit(
      guardEngine({ weightShift: { maxTotalStepWeight: 40 } }),
      split('v1alpha4', [
        ['v1', 65],
        ['v2', 25],
        ['v3', 10],
      ]),
      split('v1alpha4', v1only),
    );
    expect(r.allowed).toBe(false);
    expect(r.message).toMatch(/reviews-v2 would rise from 0% to 25%/);
    expect(r.message).not.toMatch(/maxTotalStepWeight/);
  });
});

describe('spreading a canary share over several backends', () => {
  const three = (a: number, b: number): Dest[] => [
    ['v1', 100 - a - b],
    ['v2', a],
    ['v3', b],
  ];
  /** From v1 at 100% (recorded stable) up to 25% for each canary, in steps within both limits. */
  const upTo25 = (make: (d: Dest[]) => Obj) =>
    [three(0, 0), three(10, 10), three(20, 20), three(25, 25)].map(make);
  const ts = (d: Dest[]) => split('v1alpha4', d);

  it('under maxCanaryWeight 50, two canaries at 30 each (60% together) are refused, naming each', async () => {
    const e = guardEngine({ weightShift: { maxCanaryWeight: 50 } });
    const stored = await applyAll(e, upTo25(ts));
    const r = await admit(e, ts(three(30, 30)), stored);
    expect(r.allowed).toBe(false);
    expect(r.message).toBe(
      'TrafficSplit shop/reviews: backends: 2 backends other than the stable one (reviews-v1) would together hold 60% of reviews.shop.svc.cluster.local: reviews-v2 30%, reviews-v3 30%; ' +
        'the policy allows at most 50% for all of them together (maxTotalCanaryWeight): keep the stable backend at 50% or more, or annotate meshwarden.io/allow-weight-jump with a reason (allowed for system:masters)',
    );
  });

  it('on every weighted kind', async () => {
    const e = guardEngine({ weightShift: { maxTotalCanaryWeight: 50 } });
    const kinds: ((d: Dest[]) => Obj)[] = [
      (d) => vs([istioRoute(d)]),
      (d) => httpRoute([rule(d)]),
      (d) => gloo([glooRoute(d)]),
      (d) => router([meshRoute('main', d)]),
    ];
    for (const make of kinds) {
      const stored = await applyAll(e, upTo25(make));
      const r = await admit(e, make(three(30, 30)), stored);
      expect(r.allowed, String(make(three(0, 0)).kind)).toBe(false);
      expect(r.message).toMatch(/would together hold 60% .*\(maxTotalCanaryWeight\)/);
    }
  });

  it('judges where the sum rises: moving between canaries above the cap passes, a rollback too', async () => {
    // Stored at 40/30/30 under the default policy (no cap on the sum), then a cap of 50.
    const loose = guardEngine({ weightShift: { maxTotalStepWeight: 40 } });
    const stored = await applyAll(loose, [three(0, 0), three(20, 20), three(30, 30)].map(ts));
    const e = guardEngine({ weightShift: { maxTotalCanaryWeight: 50 } });
    const moved = await admit(e, ts(three(40, 20)), stored);
    expect(moved.allowed, moved.message).toBe(true);
    const more = await admit(e, ts(three(35, 35)), stored);
    expect(more.allowed).toBe(false);
    expect(more.message).toContain('would together hold 70%');
    const back = await admit(e, ts(three(0, 0)), stored);
    expect(back.allowed, back.message).toBe(true);
  });

  it('lets Argo CD or Flux re-apply an unchanged object above both totals, and refuses a forged stable record', async () => {
    const loose = guardEngine({ weightShift: { maxTotalStepWeight: 40 } });
    const stored = await applyAll(loose, [three(0, 0), three(20, 20), three(30, 30)].map(ts));
    const e = guardEngine({ weightShift: { maxTotalCanaryWeight: 50 } });
    const argocd = { username: 'system:serviceaccount:argocd:argocd-application-controller' };
    const sync = await admit(e, structuredClone(stored), stored, argocd);
    expect(sync.allowed, sync.message).toBe(true);
    // Naming a canary stable in the record, to take it out of the sum: /mutate writes the record
    // back, and /validate alone (the mutating webhook skipped) refuses it.
    const record = 'meshwarden.io/stable-backends';
    const forged = withMeta(stored, {
      annotations: {
        ...annotations(stored),
        [record]: '{"reviews.shop.svc.cluster.local":"reviews-v2"}',
      },
    });
    const mutated = await admit(e, structuredClone(forged), stored);
    expect(mutated.allowed, mutated.message).toBe(true);
    expect(annotations(mutated.stored)[record]).toBe(annotations(stored)[record]);
    const r = await validateOnly(e, structuredClone(forged), stored);
    expect(r.allowed).toBe(false);
    expect(r.message).toContain("only meshwarden's mutating webhook writes it");
  });

  it('holds on CREATE with a majority backend, and is off by default (maxCanaryWeight 100)', async () => {
    const capped = await admit(
      guardEngine({ weightShift: { maxTotalCanaryWeight: 30 } }),
      ts(three(20, 20)),
    );
    expect(capped.allowed).toBe(false);
    expect(capped.message).toContain(
      '2 backends other than the stable one (reviews-v1) would together hold 40%',
    );
    const e = guardEngine();
    const stored = await applyAll(e, upTo25(ts));
    const r = await admit(e, ts(three(30, 30)), stored);
    expect(r.allowed, r.message).toBe(true);
  });
});
