/** The stable backend, rollbacks to it, opt-in traffic, and the integrity of what /mutate records. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROUTE_KIND_CASES, type Weights } from './route-objects.js';
import {
  admit,
  annotations,
  applyAll,
  guardEngine,
  validateOnly,
  withMeta,
  type Obj,
} from './guard-harness.js';

const W = (v1: number, v2: number): Weights => [
  ['web-v1', v1],
  ['web-v2', v2],
];
const STABLE = 'meshwarden.io/stable-backends';
const STAMP = 'meshwarden.io/last-weight-change';

describe.each(ROUTE_KIND_CASES.map((c) => [c.id, c] as const))(
  'rollback to stable on %s',
  (_id, kind) => {
    it.each([
      ['50/50', [80, 60, 50]],
      ['40/60', [80, 60, 40]],
    ] as const)('from %s back to v1 in one apply', async (_label, path) => {
      const e = guardEngine();
      const stored = await applyAll(e, [
        kind.build(W(100, 0)),
        ...path.map((v1) => kind.build(W(v1, 100 - v1))),
      ]);
      const back = await admit(e, kind.build(W(100, 0)), stored);
      expect(back.allowed, back.message).toBe(true);
      expect(back.audit).toContain('returns to its stable backend');
      // v1 was recorded as stable once the majority moved away from it.
      if (path.at(-1) === 40) expect(annotations(stored)[STABLE]).toContain('web-v1');
    });
  },
);

describe('the stable backend', () => {
  const kind = ROUTE_KIND_CASES[4]!; // Istio v1
  // Found by the sequence property: with nothing recorded, the majority of 40/60 would pass as
  // "stable", and 0/100 as a rollback to it.
  it('a root created without a majority keeps no stable backend: 50/50, 40/60, then 0/100 is a step of 40', async () => {
    const e = guardEngine();
    const stored = await applyAll(e, [kind.build(W(50, 50)), kind.build(W(40, 60))]);
    expect(annotations(stored)[STABLE]).toBe('{}');
    const jump = await admit(e, kind.build(W(0, 100)), stored);
    expect(jump.allowed).toBe(false);
    expect(jump.message).toContain('web-v2 would rise from 60% to 100% (+40 points)');
  });
  it('a backend reaching 100% becomes stable; from then on traffic may return to it', async () => {
    const e = guardEngine();
    const stored = await applyAll(
      e,
      [80, 60, 40, 20, 0]
        .map((v1) => kind.build(W(v1, 100 - v1)))
        .slice(0, 1)
        .concat([60, 40, 20, 0].map((v1) => kind.build(W(v1, 100 - v1)))),
    );
    expect(JSON.parse(annotations(stored)[STABLE]!)).toEqual({
      'web.shop.svc.cluster.local': 'web-v2.shop.svc.cluster.local',
    });
    const next = await applyAll(
      e,
      [kind.build(W(20, 80))].map((o) => o),
    );
    void next;
    const step = await admit(e, kind.build(W(20, 80)), stored);
    expect(step.allowed).toBe(true);
    const back = await admit(e, kind.build(W(0, 100)), step.stored);
    expect(back.allowed).toBe(true);
    // v1 is no longer stable: sending it everything again is a 100-point jump.
    const forward = await admit(e, kind.build(W(100, 0)), stored);
    expect(forward.allowed).toBe(false);
    expect(forward.message).toContain('web-v1 would rise from 0% to 100%');
  });

  it('an object stored before meshwarden takes its strict majority as stable, and a tie has none', async () => {
    const e = guardEngine();
    expect((await admit(e, kind.build(W(100, 0)), kind.build(W(40, 60)))).allowed).toBe(false);
    expect((await admit(e, kind.build(W(0, 100)), kind.build(W(40, 60)))).allowed).toBe(true);
    expect((await admit(e, kind.build(W(100, 0)), kind.build(W(50, 50)))).allowed).toBe(false);
  });

  it('on CREATE the strict majority is stable, and other backends are held to maxCanaryWeight', async () => {
    const e = guardEngine({ weightShift: { maxCanaryWeight: 30 } });
    expect((await admit(e, kind.build(W(70, 30)))).allowed).toBe(true);
    expect((await admit(e, kind.build(W(50, 50)))).message).toMatch(
      /would reach 50%, above maxCanaryWeight 30%/,
    );
  });

  it('a rollback to stable passes minStepIntervalSeconds too', async () => {
    const e = guardEngine({ weightShift: { minStepIntervalSeconds: 3600 } });
    const old = withMeta(kind.build(W(60, 40)), {
      annotations: { [STAMP]: '2026-11-21T11:59:00Z' },
    });
    expect((await admit(e, kind.build(W(50, 50)), old)).message).toContain(
      'minStepIntervalSeconds',
    );
    expect((await admit(e, kind.build(W(100, 0)), old)).allowed).toBe(true);
  });
});

describe('integrity of what /mutate records', () => {
  const kind = ROUTE_KIND_CASES[9]!; // HTTPRoute v1
  const recorded = async () =>
    applyAll(guardEngine(), [
      kind.build(W(100, 0)),
      kind.build(W(80, 20)),
      kind.build(W(60, 40)),
      kind.build(W(40, 60)),
    ]);

  it('a forged stable record is replaced by /mutate, so it moves nothing', async () => {
    const stored = await recorded();
    const forged = withMeta(kind.build(W(0, 100)), {
      annotations: {
        [STABLE]: JSON.stringify({
          'web.shop.svc.cluster.local:80': 'web-v2.shop.svc.cluster.local',
        }),
      },
    });
    const r = await admit(guardEngine(), forged, stored);
    expect(r.allowed).toBe(false);
    expect(r.message).toContain('web-v2 would rise from 60% to 100%');
  });

  it('with /mutate skipped, a forged or removed record is refused', async () => {
    const stored = await recorded();
    const keep = annotations(stored);
    const forged = withMeta(stored, {
      annotations: {
        ...keep,
        [STABLE]: '{"web.shop.svc.cluster.local:80":"web-v2.shop.svc.cluster.local"}',
      },
    });
    const r1 = await validateOnly(guardEngine(), forged, stored);
    expect(r1.allowed).toBe(false);
    expect(r1.message).toMatch(
      /meshwarden.io\/stable-backends is ".*", but meshwarden records ".*web-v1.*": only meshwarden's mutating webhook writes it/,
    );
    const { [STABLE]: _gone, ...rest } = keep;
    const r2 = await validateOnly(guardEngine(), withMeta(stored, { annotations: rest }), stored);
    expect(r2.allowed).toBe(false);
    expect(r2.message).toContain('meshwarden.io/stable-backends is missing');
  });

  it('last-weight-change forged or removed by an edit that moves no traffic is refused, and /mutate puts it back', async () => {
    const e = guardEngine({ weightShift: { minStepIntervalSeconds: 600 } });
    const stored = await recorded();
    const stamp = annotations(stored)[STAMP]!;
    const forged = withMeta(stored, {
      annotations: { ...annotations(stored), [STAMP]: '2020-01-01T00:00:00Z' },
    });
    const r = await validateOnly(e, forged, stored);
    expect(r.allowed).toBe(false);
    expect(r.message).toContain(`this edit moves no traffic, so it stays "${stamp}"`);
    const { [STAMP]: _gone, ...rest } = annotations(stored);
    expect((await validateOnly(e, withMeta(stored, { annotations: rest }), stored)).allowed).toBe(
      false,
    );
    const repaired = await admit(e, forged, stored);
    expect(repaired.allowed).toBe(true);
    expect(annotations(repaired.stored)[STAMP]).toBe(stamp);
  });

  it('an edit that moves traffic with an old stamp kept (the next step would skip the interval) is refused', async () => {
    const recordedObject = await recorded();
    const stored = withMeta(recordedObject, {
      annotations: { ...annotations(recordedObject), [STAMP]: '2026-11-21T11:00:00Z' },
    });
    const kept = withMeta(kind.build(W(30, 70)), { annotations: annotations(stored) });
    const r = await validateOnly(guardEngine(), kept, stored);
    expect(r.allowed).toBe(false);
    expect(r.message).toContain('this edit moves traffic, so meshwarden stamps the current time');
  });
});

describe('targeted traffic', () => {
  const vs = (
    canary: [number, number] | null,
    main: [number, number],
    match: Obj = { headers: { 'x-canary': { exact: 'insider' } } },
  ): Obj => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name: 'podinfo', namespace: 'test' },
    spec: {
      hosts: ['podinfo'],
      http: [
        ...(canary
          ? [
              {
                match: [match],
                route: [
                  { destination: { host: 'podinfo-primary' }, weight: canary[0] },
                  { destination: { host: 'podinfo-canary' }, weight: canary[1] },
                ],
              },
            ]
          : []),
        {
          route: [
            { destination: { host: 'podinfo-primary' }, weight: main[0] },
            { destination: { host: 'podinfo-canary' }, weight: main[1] },
          ],
        },
      ],
    },
  });
  it('Flagger A/B: the header route goes 0/100 while the rest stays on the primary, for anyone', async () => {
    const e = guardEngine();
    const ab = await admit(e, vs([0, 100], [100, 0]), vs([100, 0], [100, 0]));
    expect(ab.allowed).toBe(true);
    expect(ab.passed).toBe(
      'targeted traffic: only opt-in requests of podinfo.test.svc.cluster.local (a header, cookie or query parameter match) changed route, which is not limited',
    );
    expect((await admit(e, vs([0, 100], [100, 0]), vs(null, [100, 0]))).allowed).toBe(true);
    const cookie = { headers: { cookie: { regex: '^(.*?;)?(canary=always)(;.*)?$' } } };
    expect((await admit(e, vs([0, 100], [100, 0], cookie), vs(null, [100, 0]))).allowed).toBe(true);
  });
  it('making it untargeted is judged as a shift of what it newly captures', async () => {
    const r = await admit(
      guardEngine(),
      vs([0, 100], [100, 0], { uri: { prefix: '/' } }),
      vs([0, 100], [100, 0]),
    );
    expect(r.allowed).toBe(false);
    expect(r.message).toContain('podinfo-canary');
  });
  it('Knative: a new tag is opt-in; the same revision taking percent is judged', async () => {
    const ksvc = (traffic: Obj[]): Obj => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'apps' },
      spec: { traffic },
    });
    const base = [{ revisionName: 'hello-00001', percent: 100 }];
    const tagged = [...base, { revisionName: 'hello-00002', percent: 0, tag: 'next' }];
    const e = guardEngine();
    expect((await admit(e, ksvc(tagged), ksvc(base))).allowed).toBe(true);
    const shifted = [
      { revisionName: 'hello-00001', percent: 50 },
      { revisionName: 'hello-00002', percent: 50, tag: 'next' },
    ];
    expect((await admit(e, ksvc(shifted), ksvc(tagged))).message).toContain(
      'revision hello-00002 would rise from 0% to 50%',
    );
    const latest = [{ latestRevision: true, percent: 100 }];
    expect((await admit(e, ksvc(latest), ksvc(base))).allowed).toBe(false);
  });
});

const PHASES =
  'test/fixtures/traffic/corpus/gloo-ref-arch/platform/prog-delivery/two-phased-with-os-gloo';
const load = (p: string) => parse(readFileSync(`${PHASES}/${p}`, 'utf8')) as Obj;

describe('the Gloo two-phased canary of gloo-ref-arch, unchanged files', () => {
  const steps = [
    '1-setup/vs.yaml',
    '2-initial-subset-routing-to-v2/vs-1.yaml',
    '2-initial-subset-routing-to-v2/vs-2.yaml',
    '3-progressive-traffic-shift-to-v2/vs-1.yaml',
    '3-progressive-traffic-shift-to-v2/vs-2.yaml',
    '3-progressive-traffic-shift-to-v2/vs-3.yaml',
    '4-decommissioning-v1/vs.yaml',
  ];
  it('every step passes under a policy that allows its 50-point shifts, each as an UPDATE of the last', async () => {
    const e = guardEngine({ weightShift: { maxStepWeight: 50 } });
    let stored: Obj | undefined;
    const warnings: string[] = [];
    for (const step of steps) {
      const r = await admit(e, load(step), stored);
      expect(r.allowed, `${step}: ${r.message}`).toBe(true);
      warnings.push(...r.warnings);
      stored = r.stored;
    }
    // Narrowing the whole upstream to its v1 subset is allowed, with a warning naming the subset.
    expect(warnings.some((w) => /narrows echo to echo \(version=v1\)/.test(w))).toBe(true);
    expect(JSON.parse(annotations(stored!)[STABLE] ?? '{}')).toEqual({
      'domain *': 'upstream gloo-system/echo#version=v2',
    });
  });
  it('under the default policy phase 1 and 2 pass, and the 50-point shift is refused with the steps to take', async () => {
    const e = guardEngine();
    let stored: Obj | undefined;
    for (const step of steps.slice(0, 4)) {
      const r = await admit(e, load(step), stored);
      expect(r.allowed, `${step}: ${r.message}`).toBe(true);
      stored = r.stored;
    }
    const r = await admit(e, load(steps[4]!), stored);
    expect(r.message).toContain(
      'route 1: echo (version=v2) would rise from 0% to 50% (+50 points); the policy allows +20 per update: step through 20%, 40%, 50%',
    );
  });
});
