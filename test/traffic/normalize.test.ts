import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  apportion,
  passesConsulCheck,
  toConsulPercent,
  toPercent,
} from '../../src/traffic/normalize.js';
import { readTrafficSplit } from '../../src/traffic/smi/read.js';

const big = (xs: number[]) => xs.map(BigInt);

describe('largest-remainder apportionment onto 100', () => {
  it.each([
    [
      [1, 1, 1, 0],
      [34, 33, 33, 0],
    ],
    [
      [0, 1, 1, 1],
      [0, 34, 33, 33],
    ],
    [
      [1, 500],
      [0, 100],
    ],
    [
      [1, 1, 1, 1, 1, 1, 0],
      [17, 17, 17, 17, 16, 16, 0],
    ],
    // Appendix A of the research notes, and Istio 1.14's own standardizeWeights tests.
    [
      [1, 1, 1],
      [34, 33, 33],
    ],
    [
      [1, 2],
      [33, 67],
    ],
    [
      [1, 1, 1, 3],
      [17, 17, 16, 50],
    ],
    [
      [1, 1, 1, 1, 2],
      [17, 17, 17, 16, 33],
    ],
    [
      [10, 100, 1500],
      [1, 6, 93],
    ],
    [
      [5, 10, 20],
      [14, 29, 57],
    ],
    [
      [1, 0],
      [100, 0],
    ],
  ])('%j gives %j', (weights, expected) => {
    expect(toPercent(big(weights)).weights).toEqual(expected);
  });

  it('[1,500] warns that the non-zero weight rounds to zero', () => {
    expect(toPercent(big([1, 500])).roundedToZero).toEqual([0]);
    expect(toPercent(big([1, 1, 1, 0])).roundedToZero).toEqual([]);
  });

  it('500m and 1 in v1alpha1 give 33 and 67', () => {
    const { splits, errors } = readTrafficSplit({
      apiVersion: 'split.smi-spec.io/v1alpha1',
      kind: 'TrafficSplit',
      metadata: { name: 'foobar-rollout', namespace: 'default' },
      spec: {
        service: 'foobar',
        backends: [
          { service: 'foobar-v2', weight: '500m' },
          { service: 'foobar-v1', weight: 1 },
        ],
      },
    });
    expect(errors).toEqual([]);
    const weights = splits[0]!.backends.map((b) => b.weight);
    expect(weights).toEqual([500n, 1000n]);
    expect(toPercent(weights).weights).toEqual([33, 67]);
  });

  it('breaks ties by larger raw weight before input order', () => {
    // 1 and 3 onto 2: exact shares 0.5 and 1.5 have the same fraction; the larger weight wins.
    expect(apportion(big([1, 3]), 2n)).toEqual([0n, 2n]);
    expect(apportion(big([3, 1]), 2n)).toEqual([2n, 0n]);
    // Equal weights: the earlier backend wins.
    expect(apportion(big([3, 3, 3]), 2n)).toEqual([1n, 1n, 0n]);
  });

  it('refuses an all-zero or negative input instead of inventing shares', () => {
    expect(() => apportion(big([0, 0]), 100n)).toThrow(/zero/);
    expect(() => apportion(big([1, -1]), 100n)).toThrow(/negative/);
  });
});

describe('apportionment properties', () => {
  const weights = fc
    .array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 20 })
    .filter((ws) => ws.some((w) => w > 0n));
  const target = fc.bigInt({ min: 0n, max: 100_000n });

  it('always sums exactly to the target', () => {
    fc.assert(
      fc.property(weights, target, (ws, t) => {
        expect(apportion(ws, t).reduce((a, b) => a + b, 0n)).toBe(t);
      }),
    );
  });

  it('keeps zero weights at zero', () => {
    fc.assert(
      fc.property(weights, target, (ws, t) => {
        const out = apportion(ws, t);
        ws.forEach((w, i) => {
          if (w === 0n) expect(out[i]).toBe(0n);
        });
      }),
    );
  });

  it('stays within one unit of each exact share', () => {
    fc.assert(
      fc.property(weights, target, (ws, t) => {
        const sum = ws.reduce((a, b) => a + b, 0n);
        apportion(ws, t).forEach((v, i) => {
          const exactTimesSum = (ws[i] ?? 0n) * t;
          // |v - w*t/sum| < 1  <=>  |v*sum - w*t| < sum
          const diff = v * sum - exactTimesSum;
          expect(diff < sum && -diff < sum).toBe(true);
        });
      }),
    );
  });

  it('depends on nothing but its input', () => {
    fc.assert(
      fc.property(weights, target, (ws, t) => {
        const copy = [...ws];
        expect(apportion(ws, t)).toEqual(apportion(copy, t));
        expect(ws).toEqual(copy);
      }),
    );
  });

  it('is symmetric: permuting distinct weights permutes the result', () => {
    fc.assert(
      fc.property(weights, (ws) => {
        const distinct = [...new Set(ws)];
        const out = apportion(distinct, 100n);
        const reversed = apportion([...distinct].reverse(), 100n);
        // With distinct weights ties are broken by weight alone, never by position.
        expect([...reversed].reverse()).toEqual(out);
      }),
    );
  });
});

describe('Consul weights', () => {
  it('keeps two decimals when the float32 sum is exactly 100', () => {
    const out = toConsulPercent(big([1, 2]));
    expect(out.basisPoints).toBe(true);
    expect(out.weights).toEqual([33.33, 66.67]);
  });

  it('falls back to whole percents when the float32 sum misses 100', () => {
    // The notes' example: 10.34 + 82.92 + 6.74 sums to 99.99999 in float32.
    expect(passesConsulCheck([10.34, 82.92, 6.74])).toBe(false);
    const out = toConsulPercent(big([1034, 8292, 674]));
    expect(out.basisPoints).toBe(false);
    expect(out.weights).toEqual([10, 83, 7]);
    expect(passesConsulCheck(out.weights)).toBe(true);
  });

  it('always produces weights that pass consul-k8s, summing to 100', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.bigInt({ min: 0n, max: 10n ** 6n }), { minLength: 1, maxLength: 10 })
          .filter((ws) => ws.some((w) => w > 0n)),
        (ws) => {
          const out = toConsulPercent(ws);
          expect(passesConsulCheck(out.weights)).toBe(true);
          ws.forEach((w, i) => {
            if (w === 0n) expect(out.weights[i]).toBe(0);
          });
        },
      ),
    );
  });

  it('rejects a weight below 0.01 that is not zero', () => {
    expect(passesConsulCheck([0.001, 99.999])).toBe(false);
    expect(passesConsulCheck([0, 100])).toBe(true);
  });
});
