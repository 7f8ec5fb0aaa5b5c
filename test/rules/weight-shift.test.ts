import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { staticClusterView, type StaticClusterFacts } from '../../src/admission/cluster-view.js';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { Enforcement, PolicySpecInput } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { makeReview } from '../helpers/reviews.js';
import { ROUTE_KIND_CASES, type RouteKindCase, type Weights } from './route-objects.js';

const NOW = new Date('2026-11-21T12:00:00Z');

function engine(policy: PolicySpecInput = {}, cluster: StaticClusterFacts = {}) {
  return new AdmissionEngine({
    rules: defaultRules(),
    policy: new PolicyStore(resolveSpec(policy)),
    cluster: staticClusterView(cluster),
    clock: () => NOW,
  });
}

type User = { username?: string; groups?: string[] };

async function validate(
  e: AdmissionEngine,
  object: Record<string, unknown>,
  oldObject?: Record<string, unknown>,
  user?: User,
) {
  // As the API server calls them: /mutate first, then /validate with the mutated object.
  const first = makeReview({
    object,
    ...(oldObject ? { oldObject } : {}),
    ...(user ? { user } : {}),
  });
  const decodedFirst = decodeAdmissionReview(first);
  if (!decodedFirst.ok) throw new Error(decodedFirst.message);
  const mutated = await e.review(decodedFirst.review, 'mutate');
  const review = makeReview({
    object: mutated.object,
    ...(oldObject ? { oldObject } : {}),
    ...(user ? { user } : {}),
  });
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = await e.review(decoded.review, 'validate');
  expect(contractProblems(review, outcome.review, 'validate')).toEqual([]);
  return outcome.review.response!;
}

async function mutate(
  e: AdmissionEngine,
  object: Record<string, unknown>,
  oldObject?: Record<string, unknown>,
) {
  const review = makeReview({ object, ...(oldObject ? { oldObject } : {}) });
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = await e.review(decoded.review, 'mutate');
  expect(contractProblems(review, outcome.review, 'mutate')).toEqual([]);
  return { response: outcome.review.response!, object: outcome.object as Record<string, unknown> };
}

const W = (v1: number, v2: number): Weights => [
  ['web-v1', v1],
  ['web-v2', v2],
];

describe.each(ROUTE_KIND_CASES.map((c) => [c.id, c] as const))(
  'weight-shift on %s',
  (_id, kind: RouteKindCase) => {
    it('denies a 50-point jump, naming the backend, the shares and the way forward', async () => {
      const denied = await validate(engine(), kind.build(W(50, 50)), kind.build(W(100, 0)));
      expect(denied.allowed).toBe(false);
      expect(denied.status?.code).toBe(403);
      expect(denied.status?.message).toMatch(
        /web-v2.* would rise from 0% to 50% \(\+50 points\); the policy allows \+20 per update: step through 20%, 40%, 50%, or annotate meshwarden.io\/allow-weight-jump with a reason \(allowed for system:masters\)/,
      );
    });

    it('allows a step within maxStepWeight and a rollback to the stable (majority) backend', async () => {
      expect((await validate(engine(), kind.build(W(80, 20)), kind.build(W(100, 0)))).allowed).toBe(
        true,
      );
      const back = await validate(engine(), kind.build(W(100, 0)), kind.build(W(60, 40)));
      expect(back.allowed).toBe(true);
      expect(back.auditAnnotations?.['weight-shift']).toMatch(/^passed: rollback: all traffic of /);
    });

    it('calls no CREATE a rollback: there is no old traffic to return', async () => {
      const created = await validate(engine(), kind.build(W(100, 0)));
      expect(created.allowed).toBe(true);
      expect(created.auditAnnotations?.['weight-shift'] ?? '').not.toMatch(/rollback/);
    });

    it.each([
      [
        'warn',
        (r: Awaited<ReturnType<typeof validate>>) => {
          expect(r.allowed).toBe(true);
          expect(r.warnings).toHaveLength(1);
          expect(r.warnings![0]!.length).toBeLessThanOrEqual(120);
          expect(r.warnings![0]).toMatch(/web-v2.*0%→50% \(\+50 points\) exceeds maxStepWeight 20/);
        },
      ],
      [
        'audit',
        (r: Awaited<ReturnType<typeof validate>>) => {
          expect(r.allowed).toBe(true);
          expect(r.warnings).toBeUndefined();
          expect(r.auditAnnotations?.['weight-shift']).toContain('would rise from 0% to 50%');
        },
      ],
    ] as const)('in %s mode allows the jump and records it', async (mode, check) => {
      const r = await validate(
        engine({ weightShift: { enforcement: mode as Enforcement } }),
        kind.build(W(50, 50)),
        kind.build(W(100, 0)),
      );
      check(r);
    });

    it('refuses a backend beyond maxCanaryWeight, on CREATE too, with the majority backend as stable', async () => {
      const e = engine({ weightShift: { maxCanaryWeight: 30 } });
      const created = await validate(e, kind.build(W(60, 40)));
      expect(created.allowed).toBe(false);
      expect(created.status?.message).toMatch(
        /web-v2.* would reach 40%, above maxCanaryWeight 30%/,
      );
      expect((await validate(e, kind.build(W(70, 30)))).allowed).toBe(true);
    });

    it('lifts the limits for overrideGroups with meshwarden.io/allow-weight-jump, and ignores it with a warning for others', async () => {
      const annotations = { 'meshwarden.io/allow-weight-jump': 'incident 42: v1 is broken' };
      const admin = await validate(
        engine(),
        kind.build(W(0, 100), { annotations }),
        kind.build(W(100, 0)),
        { username: 'alice', groups: ['system:masters'] },
      );
      expect(admin.allowed).toBe(true);
      expect(admin.auditAnnotations?.['weight-shift']).toContain('lifted by alice');
      const dev = await validate(
        engine(),
        kind.build(W(0, 100), { annotations }),
        kind.build(W(100, 0)),
        { username: 'bob', groups: ['devs'] },
      );
      expect(dev.allowed).toBe(false);
      expect(dev.warnings?.[0]).toContain(
        'meshwarden.io/allow-weight-jump ignored: bob is not in overrideGroups',
      );
    });

    it('stamps meshwarden.io/last-weight-change when weights change, idempotently, and enforces minStepIntervalSeconds', async () => {
      const e = engine({ weightShift: { minStepIntervalSeconds: 300 } });
      const { response, object } = await mutate(e, kind.build(W(80, 20)), kind.build(W(100, 0)));
      expect(decodePatch({ response })).toContainEqual(
        expect.objectContaining({ path: expect.stringMatching(/^\/metadata\/annotations/) }),
      );
      expect(
        (object.metadata as { annotations: Record<string, string> }).annotations[
          'meshwarden.io/last-weight-change'
        ],
      ).toBe('2026-11-21T12:00:00Z');
      const again = await mutate(e, object, kind.build(W(100, 0)));
      expect(again.response.patch).toBeUndefined();
      // No change of weights, no stamp.
      expect(
        (await mutate(e, kind.build(W(100, 0)), kind.build(W(100, 0)))).response.patch,
      ).toBeUndefined();
      const recent = kind.build(W(80, 20), {
        annotations: { 'meshwarden.io/last-weight-change': '2026-11-21T11:58:00Z' },
      });
      const tooSoon = await validate(e, kind.build(W(60, 40)), recent);
      expect(tooSoon.allowed).toBe(false);
      expect(tooSoon.status?.message).toContain(
        'weights last changed at 2026-11-21T11:58:00Z (120s ago); the policy requires 300s between weight changes (minStepIntervalSeconds): apply again after 2026-11-21T12:03:00Z',
      );
      const old = kind.build(W(80, 20), {
        annotations: { 'meshwarden.io/last-weight-change': '2026-11-21T11:50:00Z' },
      });
      expect((await validate(e, kind.build(W(60, 40)), old)).allowed).toBe(true);
    });

    it('lets a new backend start from 0', async () => {
      const added = await validate(
        engine(),
        kind.build([
          ['web-v1', 70],
          ['web-v2', 0],
          ['web-v3', 30],
        ]),
        kind.build(W(100, 0)),
      );
      expect(added.allowed).toBe(false);
      expect(added.status?.message).toMatch(/web-v3.* would rise from 0% to 30% \(\+30 points\)/);
    });
  },
);

describe('the denial message', () => {
  it('reads as the example: route, backend, from and to, the limit, the steps and the override', async () => {
    const vs = (v1: number, v2: number) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'shop' },
      spec: {
        hosts: ['reviews'],
        http: [
          {
            route: [
              { destination: { host: 'reviews-v1' }, weight: v1 },
              { destination: { host: 'reviews-v2' }, weight: v2 },
            ],
          },
        ],
      },
    });
    const res = await validate(engine(), vs(40, 60), vs(90, 10));
    expect(res.status?.message).toBe(
      'VirtualService shop/reviews: route 0: reviews-v2 would rise from 10% to 60% (+50 points); the policy allows +20 per update: step through 30%, 50%, 60%, or annotate meshwarden.io/allow-weight-jump with a reason (allowed for system:masters)',
    );
  });
});

const CORPUS = 'test/fixtures/traffic/corpus';
const load = (path: string) =>
  parse(readFileSync(`${CORPUS}/${path}`, 'utf8')) as Record<string, unknown>;
const loadAll = (path: string) =>
  readFileSync(`${CORPUS}/${path}`, 'utf8')
    .split(/^---$/m)
    .map((d) => parse(d) as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);

describe('the corpus old/new pairs', () => {
  const leaf = [
    'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha1',
    'linkerd2-2023/test/integration/viz/trafficsplit/testdata/v1alpha2',
    'linkerd-smi/test/testdata',
  ];
  it.each(leaf)('%s: leaf weights 100/0 to 50/50 is a 50-point jump, denied', async (dir) => {
    const res = await validate(
      engine(),
      load(`${dir}/updated-traffic-split-leaf-weights.yaml`),
      load(`${dir}/traffic-split-leaf-weights.yaml`),
    );
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('(+50 points)');
  });

  it('gloo-ref-arch step 3: 100/0 to 50/50 denied, 50/50 to 0/100 denied (no stable backend at a tie)', async () => {
    const dir =
      'gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo/3-progressive-traffic-shift-to-v2';
    expect(
      (await validate(engine(), load(`${dir}/vs-2.yaml`), load(`${dir}/vs-1.yaml`))).allowed,
    ).toBe(false);
    expect(
      (await validate(engine(), load(`${dir}/vs-3.yaml`), load(`${dir}/vs-2.yaml`))).allowed,
    ).toBe(false);
    // The last move is fine once v2 leads: 40/60 to 0/100 returns all traffic to the stable (majority) backend.
    const at = (v1: number, v2: number) => {
      const vs = structuredClone(load(`${dir}/vs-1.yaml`)) as {
        spec: {
          virtualHost: {
            routes: { routeAction: { multi?: { destinations: { weight: number }[] } } }[];
          };
        };
      };
      const dests = vs.spec.virtualHost.routes[1]!.routeAction.multi!.destinations;
      dests[0]!.weight = v1;
      dests[1]!.weight = v2;
      return vs as unknown as Record<string, unknown>;
    };
    expect((await validate(engine(), load(`${dir}/vs-3.yaml`), at(40, 60))).allowed).toBe(true);
  });

  it('emojivoto: 50/50 to 25/75 denied (+25), 25/75 to 0/100 allowed (to the stable majority)', async () => {
    const dir = 'emojivoto/training/traffic-split';
    const to7525 = await validate(
      engine(),
      load(`${dir}/75-25.yml`),
      load(`${dir}/web-svc-ts.yml`),
    );
    expect(to7525.allowed).toBe(false);
    expect(to7525.status?.message).toContain('web-svc-2 would rise from 50% to 75% (+25 points)');
    expect(
      (await validate(engine(), load(`${dir}/100-0.yml`), load(`${dir}/75-25.yml`))).allowed,
    ).toBe(true);
  });

  it('istio bookinfo: 90/10 to 80/20 allowed, 80/20 to 50/50 with a new v3 denied', async () => {
    const dir = 'istio/samples/bookinfo/networking';
    const v9010 = load(`${dir}/virtual-service-reviews-90-10.yaml`);
    const v8020 = load(`${dir}/virtual-service-reviews-80-20.yaml`);
    const v50v3 = load(`${dir}/virtual-service-reviews-50-v3.yaml`);
    expect((await validate(engine(), v8020, v9010)).allowed).toBe(true);
    const res = await validate(engine(), v50v3, v8020);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toMatch(/reviews \(subset v3\)|v3/);
    const http = loadAll('istio/samples/bookinfo/gateway-api/route-reviews-50-v3.yaml').find(
      (d) => d.kind === 'HTTPRoute',
    )!;
    const http9010 = loadAll('istio/samples/bookinfo/gateway-api/route-reviews-90-10.yaml').find(
      (d) => d.kind === 'HTTPRoute',
    )!;
    expect((await validate(engine(), http, http9010)).allowed).toBe(false);
  });
});

describe('properties', () => {
  const weights = fc
    .array(fc.integer({ min: 0, max: 100 }), { minLength: 2, maxLength: 4 })
    .filter((w) => w.some((x) => x > 0));
  const split = (ws: readonly number[]) =>
    ROUTE_KIND_CASES[3]!.build(ws.map((w, i) => [`b${i}`, w] as const));
  const shares = (ws: readonly number[]) => {
    const total = ws.reduce((a, b) => a + b, 0);
    return ws.map((w) => (w * 100) / total);
  };

  it('no backend but the incumbent ever gains more than maxStepWeight in an allowed update', async () => {
    const e = engine();
    await fc.assert(
      fc.asyncProperty(weights, weights, async (before, afterRaw) => {
        const after = afterRaw
          .slice(0, before.length)
          .concat(Array(Math.max(0, before.length - afterRaw.length)).fill(0));
        if (!after.some((x) => x > 0)) return;
        const res = await validate(e, split(after), split(before));
        if (!res.allowed) return;
        const old = shares(before);
        const next = shares(after);
        const max = Math.max(...old);
        const incumbents = old.filter((s) => s === max).length === 1 ? [old.indexOf(max)] : [];
        next.forEach((s, i) => {
          if (!incumbents.includes(i)) expect(s - old[i]!).toBeLessThanOrEqual(20 + 1e-9);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('moving all traffic back to the strict-majority backend (stable without a record) is always allowed', async () => {
    const e = engine();
    await fc.assert(
      fc.asyncProperty(weights, async (before) => {
        const old = shares(before);
        const stable = old.findIndex((s) => s > 50);
        fc.pre(stable >= 0);
        const back = before.map((_, i) => (i === stable ? 100 : 0));
        expect((await validate(e, split(back), split(before))).allowed).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('Flagger', () => {
  const canary = (analysis: Record<string, unknown>): KubeObject => ({
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'podinfo', namespace: 'shop', uid: 'u' },
    spec: { targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'podinfo' }, analysis },
  });
  // Flagger's Istio router: primary and canary Services, integer weights summing to 100.
  const vs = (primary: number, canaryWeight: number, ownerCanary: string | null = 'podinfo') => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: {
      name: 'podinfo',
      namespace: 'shop',
      ...(ownerCanary
        ? {
            ownerReferences: [
              {
                apiVersion: 'flagger.app/v1beta1',
                kind: 'Canary',
                name: ownerCanary,
                uid: 'u',
                controller: true,
              },
            ],
          }
        : {}),
    },
    spec: {
      hosts: ['podinfo'],
      gateways: ['mesh'],
      http: [
        {
          route: [
            { destination: { host: 'podinfo-primary' }, weight: primary },
            { destination: { host: 'podinfo-canary' }, weight: canaryWeight },
          ],
        },
      ],
    },
  });
  const flaggerSa = {
    username: 'system:serviceaccount:flagger-system:flagger',
    groups: ['system:serviceaccounts'],
  };

  const moves: [string, Record<string, unknown>, [number, number][]][] = [
    [
      'stepWeight 10 up to maxWeight 50',
      { stepWeight: 10, maxWeight: 50 },
      [
        [100, 0],
        [90, 10],
        [80, 20],
        [70, 30],
        [60, 40],
        [50, 50],
      ],
    ],
    [
      'the last step overshoots maxWeight (50 with step 20: 20, 40, 60)',
      { stepWeight: 20, maxWeight: 50 },
      [
        [100, 0],
        [80, 20],
        [60, 40],
        [40, 60],
      ],
    ],
    [
      'stepWeights [1, 2, 10, 80] with its +70 step',
      { stepWeights: [1, 2, 10, 80] },
      [
        [100, 0],
        [99, 1],
        [98, 2],
        [90, 10],
        [20, 80],
      ],
    ],
    [
      'promotion with stepWeightPromotion 0: primary back to 100 in one write',
      { stepWeight: 20, maxWeight: 60 },
      [
        [40, 60],
        [100, 0],
      ],
    ],
    [
      'promotion in steps of stepWeightPromotion',
      { stepWeight: 20, maxWeight: 60, stepWeightPromotion: 30 },
      [
        [40, 60],
        [70, 30],
        [100, 0],
      ],
    ],
    [
      'rollback on failed checks: canary to 0',
      { stepWeight: 10 },
      [
        [70, 30],
        [100, 0],
      ],
    ],
    [
      'Blue/Green: all traffic to the canary at the end',
      { iterations: 10 },
      [
        [100, 0],
        [0, 100],
      ],
    ],
  ];
  it.each(moves)('allows %s', async (_name, analysis, path) => {
    const e = engine({}, { canaries: [canary(analysis)] });
    for (let i = 1; i < path.length; i++) {
      const [p0, c0] = path[i - 1]!;
      const [p1, c1] = path[i]!;
      const res = await validate(e, vs(p1, c1), vs(p0, c0), flaggerSa);
      expect(res.allowed, `${p0}/${c0} -> ${p1}/${c1}: ${res.status?.message ?? ''}`).toBe(true);
    }
  });

  it('allows A/B: the matched route goes 0/100 while the unmatched stays on the primary', async () => {
    const ab = (matched: [number, number]) => ({
      ...vs(100, 0),
      spec: {
        hosts: ['podinfo'],
        http: [
          {
            match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
            route: [
              { destination: { host: 'podinfo-primary' }, weight: matched[0] },
              { destination: { host: 'podinfo-canary' }, weight: matched[1] },
            ],
          },
          { route: [{ destination: { host: 'podinfo-primary' }, weight: 100 }] },
        ],
      },
    });
    const e = engine(
      {},
      {
        canaries: [
          canary({ iterations: 10, match: [{ headers: { 'x-canary': { exact: 'insider' } } }] }),
        ],
      },
    );
    expect((await validate(e, ab([0, 100]), ab([100, 0]), flaggerSa)).allowed).toBe(true);
  });

  // Issue 12: an unknown Canary no longer means "allow"; the write is judged and says why.
  it('judges a write whose Canary is not known, and says why', async () => {
    const res = await validate(engine(), vs(50, 50), vs(100, 0), flaggerSa);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain(
      'Canary shop/podinfo named in its ownerReferences is not known to meshwarden',
    );
  });

  it('recognises the Canary by name when the object has no ownerReference', async () => {
    const e = engine({}, { canaries: [canary({ stepWeight: 50 })] });
    const res = await validate(e, vs(50, 50, null), vs(100, 0, null), flaggerSa);
    expect(res.allowed).toBe(true);
    expect(res.auditAnnotations?.['weight-shift']).toContain('for Canary shop/podinfo');
  });

  it('does not take a Canary ownerReference from someone else as Flagger', async () => {
    const e = engine({}, { canaries: [canary({ stepWeight: 10 })] });
    const res = await validate(e, vs(50, 50), vs(100, 0), { username: 'bob', groups: ['devs'] });
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain(
      'not trusted as Flagger: bob is not a trusted Flagger account',
    );
  });

  it('denies 50/50 to all on the canary beyond a stepped Canary (not a Flagger move)', async () => {
    const e = engine({}, { canaries: [canary({ stepWeight: 10 })] });
    const res = await validate(e, vs(0, 100), vs(50, 50), flaggerSa);
    expect(res.allowed).toBe(false);
    expect(res.status?.message).toContain('bounded by its analysis (steps of up to 10 points');
  });

  it('never applies minStepIntervalSeconds to Flagger, which paces itself', async () => {
    const e = engine(
      { weightShift: { minStepIntervalSeconds: 3600 } },
      { canaries: [canary({ stepWeight: 10 })] },
    );
    const old = vs(90, 10);
    (old.metadata as Record<string, unknown>).annotations = {
      'meshwarden.io/last-weight-change': '2026-11-21T11:59:00Z',
    };
    expect((await validate(e, vs(80, 20), old, flaggerSa)).allowed).toBe(true);
  });

  it('a made-up Canary ownerReference and any account named flagger are judged like anyone', async () => {
    const e = engine();
    for (const user of [
      { username: 'system:serviceaccount:tenant-a:flagger', groups: ['system:serviceaccounts'] },
      { username: 'bob', groups: ['devs'] },
    ]) {
      const res = await validate(e, vs(0, 100), vs(100, 0), user);
      expect(res.allowed, user.username).toBe(false);
      expect(res.status?.message).toContain(
        'podinfo-canary would rise from 0% to 100% (+100 points)',
      );
    }
  });

  it('a rollback to the primary passes for anyone: it is the stable backend', async () => {
    const res = await validate(engine(), vs(100, 0), vs(60, 40), {
      username: 'bob',
      groups: ['devs'],
    });
    expect(res.allowed).toBe(true);
  });
});

describe('what the guard leaves alone', () => {
  it('an edit that does not change shares (labels, a resync) is not judged', async () => {
    const kind = ROUTE_KIND_CASES[4]!;
    const e = engine({ weightShift: { minStepIntervalSeconds: 3600 } });
    const old = kind.build(W(50, 50), {
      annotations: { 'meshwarden.io/last-weight-change': '2026-11-21T11:59:59Z' },
    });
    expect(
      (await validate(e, kind.build(W(50, 50), { annotations: { note: 'x' } }), old)).allowed,
    ).toBe(true);
  });

  it('the same shares written with other raw weights count as unchanged (1/1 is 500/500)', async () => {
    const kind = ROUTE_KIND_CASES[1]!;
    const e = engine({ weightShift: { minStepIntervalSeconds: 3600 } });
    const old = kind.build(W(1, 1), {
      annotations: { 'meshwarden.io/last-weight-change': '2026-11-21T11:59:59Z' },
    });
    expect((await validate(e, kind.build(W(500, 500)), old)).allowed).toBe(true);
  });
});
