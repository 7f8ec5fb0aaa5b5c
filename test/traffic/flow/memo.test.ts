/**
 * The flow memo is only a cache: with it (probe lists shared between the objects of a review,
 * each root's walks kept per probe) the stable backends and the judgement must be exactly what
 * they are without it, field by field and in the same order, for any pair of VirtualServices.
 * The matches include the kinds that make unknowns (regex and sourceLabels), methods and ports.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flowOf } from '../../../src/rules/traffic-edit.js';
import { judgeTraffic } from '../../../src/traffic/flow/judge.js';
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

describe('the flow memo', () => {
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
        expect(judgeTraffic(before, after, stable, memo)).toEqual(
          judgeTraffic(before, after, stable),
        );
        expect(stableBefore(after, undefined, memo)).toEqual(stableBefore(after, undefined));
      }),
      { numRuns: 300 },
    );
  });
});
