/**
 * The flow memo is only a cache: with it (probe lists shared between the objects of a review,
 * each root's walks kept per probe) the stable backends and the judgement must be exactly what
 * they are without it, field by field and in the same order, for any pair of VirtualServices.
 * The matches include the kinds that make unknowns (regex and sourceLabels), methods and ports,
 * and those that keep every untargeted request on one route (a canary header route, a gateway
 * condition, `withoutHeaders`), where the memo asks only the first probe of each protocol.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { judgeTraffic, largestCrowd, type Judgement } from '../../../src/traffic/flow/judge.js';
import { FlowMemo } from '../../../src/traffic/flow/memo.js';
import { objectProbes, pairProbes, probesFor } from '../../../src/traffic/flow/probes.js';
import { stableAfter, stableBefore } from '../../../src/traffic/flow/stable.js';
import { generatedVirtualService as toObject } from '../../helpers/virtual-services.js';

const MATCHES = [
  { uri: { prefix: '/api' } },
  { uri: { exact: '/' } },
  { uri: { regex: '/v[0-9]+/.*' } },
  { method: { exact: 'POST' } },
  { port: 8080 },
  { headers: { 'x-canary': { exact: '1' } } },
  { headers: { cookie: { regex: '.*user=qa.*' } } },
  { sourceLabels: { app: 'web' } },
  { headers: { 'x-canary': { exact: '1' } }, uri: { prefix: '/api' }, method: { exact: 'PUT' } },
  { withoutHeaders: { 'x-canary': { exact: '1' } } },
  { gateways: ['mesh'] },
  { gateways: ['public'] },
  { queryParams: { tester: { regex: 'qa-.*' } }, port: 9080 },
];

const route = fc.record({
  name: fc.constantFrom(undefined, 'a', 'b'),
  match: fc.subarray(MATCHES, { maxLength: 2 }),
  dests: fc.array(
    fc.tuple(fc.constantFrom('v1', 'v2', 'v3'), fc.integer({ min: 0, max: 100 }), fc.boolean()),
    { minLength: 1, maxLength: 3 },
  ),
});
const virtualService = fc.record({
  hosts: fc.subarray(['reviews', 'reviews.shop.svc.cluster.local', 'ratings'], { minLength: 1 }),
  gateways: fc.subarray(['mesh', 'public'], { maxLength: 2 }),
  http: fc.array(route, { minLength: 1, maxLength: 3 }),
});

/** A weights-only edit half of the time: the case where the memo shares the most. */
const pair = virtualService.chain((before) =>
  fc.tuple(
    fc.constant(before),
    fc.oneof(
      virtualService,
      fc.constant(before).map((s) => ({
        ...s,
        http: s.http.map((r) => ({
          ...r,
          dests: r.dests.map(([b, w, p]) => [b, 100 - w, p] as [typeof b, number, boolean]),
        })),
      })),
    ),
  ),
);

/** A Flagger-style canary: a header route above the weighted catch-all, weights-only edit. */
const canary = (weight: number): Parameters<typeof toObject>[0] => ({
  hosts: ['reviews'],
  gateways: [],
  http: [
    { name: 'a', match: [{ headers: { 'x-canary': { exact: '1' } } }], dests: [['v2', 100]] },
    {
      name: 'b',
      match: [],
      dests: [
        ['v1', 100 - weight],
        ['v2', weight],
      ],
    },
  ],
});

/**
 * The judgement as the rule reads it: the classes kept for the sum of canary shares are
 * compared by the largest sum they give (the memo's short probe list keeps fewer of them).
 */
const decided = (j: Judgement) => ({
  ...j,
  roots: j.roots.map(({ crowdClasses: _, ...root }) => ({
    ...root,
    crowd: largestCrowd({ ...root, crowdClasses: _ }),
  })),
});

describe('the flow memo', () => {
  it('asks one untargeted probe per protocol when every request of a root takes one route', () => {
    const before = flowOf(toObject(canary(10)), 'shop')!;
    const after = flowOf(toObject(canary(20)), 'shop')!;
    const memo = new FlowMemo();
    const stable = stableBefore(before, undefined, memo);
    const judgement = judgeTraffic(before, after, stable, memo);
    expect(decided(judgement)).toEqual(decided(judgeTraffic(before, after, stable)));
    expect(judgement.roots[0]!.rises.map((r) => r.backend)).toEqual([
      'reviews.shop.svc.cluster.local#v2',
    ]);
    // The whole list has '/', the unmatched path and the targeted probe; the memo walks two.
    expect(probesFor([before, after])).toHaveLength(3);
    const walked = [...memo.walks.get(after.roots[0]!)!.keys()];
    expect(walked).toEqual(['http|*|GET|/', expect.stringContaining('http|targeted|')]);
  });

  it('changes nothing: stable backends, probes and the judgement are what they are without it', () => {
    fc.assert(
      fc.property(pair, ([a, b]) => {
        const before = flowOf(toObject(a), 'shop')!;
        const after = flowOf(toObject(b), 'shop')!;
        const memo = new FlowMemo();
        const stable = stableBefore(before, undefined, memo);
        expect(stable).toEqual(stableBefore(before, undefined));
        expect(stableAfter(before, stable, after, memo)).toEqual(
          stableAfter(before, stable, after),
        );
        expect(objectProbes(after, memo)).toEqual(probesFor([after]));
        expect(pairProbes(before, after, memo)).toEqual(probesFor([before, after]));
        expect(decided(judgeTraffic(before, after, stable, memo))).toEqual(
          decided(judgeTraffic(before, after, stable)),
        );
        expect(stableBefore(after, undefined, memo)).toEqual(stableBefore(after, undefined));
      }),
      { numRuns: 300 },
    );
  });
});
