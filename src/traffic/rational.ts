import { totalWeight, type WeightedSplit } from './model.js';
import { bigIntOf } from './numbers.js';

/** An exact non-negative fraction, always reduced, with a positive denominator. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

export const ZERO: Rational = Object.freeze({ num: 0n, den: 1n });

/** Below this both fit a double exactly, and the remainders are computed there (far cheaper). */
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const SMALL = 2n ** 26n;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  if (x <= SAFE && y <= SAFE) {
    let p = Number(x);
    let q = Number(y);
    while (q !== 0) {
      const r = p % q;
      p = q;
      q = r;
    }
    return bigIntOf(p);
  }
  while (y !== 0n) {
    const r = x % y;
    x = y;
    y = r;
  }
  return x;
}

export function rational(num: bigint, den: bigint): Rational {
  if (den === 0n) throw new RangeError('denominator is zero');
  let n = num;
  let d = den;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d) || 1n;
  return g === 1n ? { num: n, den: d } : { num: n / g, den: d / g };
}

export function add(a: Rational, b: Rational): Rational {
  if (a.den === b.den) return rational(a.num + b.num, a.den);
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subtract(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den - b.num * a.den, a.den * b.den);
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compare(a: Rational, b: Rational): -1 | 0 | 1 {
  // Shares of one route have one denominator: no products needed.
  if (a.den === b.den) return a.num < b.num ? -1 : a.num > b.num ? 1 : 0;
  // Below 2^26 each product is exact as a double: no bigint is made.
  if (a.num < SMALL && a.den < SMALL && b.num < SMALL && b.den < SMALL) {
    const l = Number(a.num) * Number(b.den);
    const r = Number(b.num) * Number(a.den);
    return l < r ? -1 : l > r ? 1 : 0;
  }
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The share is all of it (`compare(share, 1) === 0`, without a product). */
export function isWhole(share: Rational): boolean {
  return share.num === share.den;
}

/** The share is more than half (`compare(share, 1/2) > 0`, with one product instead of two). */
export function overHalf(share: Rational): boolean {
  return share.num * 2n > share.den;
}

/**
 * The sign of `(a1 - a0) - (b1 - b0)`: which of two rises is larger, without reducing either
 * difference (what `compare(subtract(a1, a0), subtract(b1, b0))` gives, for less).
 */
export function compareRises(a1: Rational, a0: Rational, b1: Rational, b0: Rational): -1 | 0 | 1 {
  const aNum = a1.num * a0.den - a0.num * a1.den;
  const aDen = a1.den * a0.den;
  const bNum = b1.num * b0.den - b0.num * b1.den;
  const bDen = b1.den * b0.den;
  const left = aNum * bDen;
  const right = bNum * aDen;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** A policy percentage (a number, to a thousandth) as a share: `20` gives `1/5`. */
export function percentShare(percent: number): Rational {
  return rational(BigInt(Math.round(percent * 1000)), 100_000n);
}

/** The share expressed in percentage points, exactly (`1/3` gives `100/3`). */
export function percentagePoints(share: Rational): Rational {
  return rational(share.num * 100n, share.den);
}

/** A share as a percentage for messages: `33.3%`, `50%`, `0.2%`. Never rounds a non-zero share to 0. */
export function formatPercent(share: Rational, decimals = 1): string {
  const scale = 10n ** BigInt(decimals);
  const scaled = share.num * 100n * scale;
  let value = (scaled + share.den / 2n) / share.den;
  if (value === 0n && share.num !== 0n) value = 1n;
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${whole}${fraction === '' ? '' : `.${fraction}`}%`;
}

/**
 * Each backend's exact share of the split, in backend order; undefined when every weight is 0
 * (no share is defined: the route sends nowhere).
 */
export function shares(split: Pick<WeightedSplit, 'backends'>): Rational[] | undefined {
  const total = totalWeight(split);
  if (total === 0n) return undefined;
  return split.backends.map((b) => rational(b.weight, total));
}

/** Shares keyed by backend id (the sum when one id appears twice). */
export function sharesById(
  split: Pick<WeightedSplit, 'backends'>,
): ReadonlyMap<string, Rational> | undefined {
  const total = totalWeight(split);
  if (total === 0n) return undefined;
  const sums = new Map<string, bigint>();
  for (const b of split.backends) sums.set(b.id, (sums.get(b.id) ?? 0n) + b.weight);
  return new Map([...sums].map(([id, w]) => [id, rational(w, total)]));
}
