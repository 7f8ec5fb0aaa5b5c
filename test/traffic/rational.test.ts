import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compare, isWhole, overHalf, rational } from '../../src/traffic/rational.js';

const ONE = rational(1n, 1n);
const HALF = rational(1n, 2n);
const share = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 20n }))
  .map(([num, den]) => rational(num < den ? num : den, den));

describe('comparing shares', () => {
  it('orders as the cross products do, for small and large terms alike', () => {
    const term = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 26n }),
      fc.bigInt({ min: 0n, max: 2n ** 80n }),
    );
    fc.assert(
      fc.property(term, term, term, term, (an, ad, bn, bd) => {
        const a = rational(an, ad + 1n);
        const b = rational(bn, bd + 1n);
        const l = a.num * b.den;
        const r = b.num * a.den;
        expect(compare(a, b)).toBe(l < r ? -1 : l > r ? 1 : 0);
      }),
    );
  });
});

describe('share tests without products', () => {
  it('isWhole and overHalf answer what comparing with 1 and 1/2 answers', () => {
    fc.assert(
      fc.property(share, (s) => {
        expect(isWhole(s)).toBe(compare(s, ONE) === 0);
        expect(overHalf(s)).toBe(compare(s, HALF) > 0);
      }),
    );
  });

  it('at the edges: exactly half is no majority, all is whole, nothing is neither', () => {
    expect(overHalf(rational(50n, 100n))).toBe(false);
    expect(overHalf(rational(51n, 100n))).toBe(true);
    expect(isWhole(rational(100n, 100n))).toBe(true);
    expect(isWhole(rational(0n, 100n))).toBe(false);
    expect(overHalf(rational(0n, 1n))).toBe(false);
  });
});
