import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigIntOf, decimalNumber, quantityMilli, wholeNumber } from '../../src/traffic/numbers.js';
import { formatPercent, rational } from '../../src/traffic/rational.js';
import { parseServiceRef } from '../../src/traffic/service-name.js';

describe('quantities in milli units (TrafficSplit v1alpha1)', () => {
  it.each([
    ['1', 1000n],
    ['500m', 500n],
    ['0m', 0n],
    ['1000m', 1000n],
    ['1.5', 1500n],
    ['.5', 500n],
    ['+2', 2000n],
    ['-0', 0n],
    ['10m', 10n],
    ['1k', 1_000_000n],
    ['1Ki', 1_024_000n],
    ['1e3', 1_000_000n],
    ['2E-3', 2n],
    // A fraction of a milli rounds up, as MilliValue does.
    ['1u', 1n],
    ['0.0001', 1n],
    [1, 1000n],
    [0, 0n],
    [0.25, 250n],
  ])('%j is %s', (raw, milli) => {
    expect(quantityMilli(raw)).toEqual({ ok: true, value: milli });
  });

  it.each([
    ['-1', '"-1", which is negative'],
    [-1, '-1, which is negative'],
    ['500 m', '"500 m", which is not a quantity'],
    ['1.2.3', '"1.2.3", which is not a quantity'],
    ['half', '"half", which is not a quantity'],
    ['1E', '"1E", which is out of range'],
    ['1e400', '"1e400", which is out of range'],
    [true, 'true, which is not a quantity'],
    [{}, 'a map, which is not a quantity'],
  ])('%j is refused: %s', (raw, reason) => {
    expect(quantityMilli(raw)).toEqual({ ok: false, reason });
  });

  it('agrees with plain arithmetic on decimal strings', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 9 }), fc.nat({ max: 999 }), (whole, milli) => {
        const text = `${whole}.${String(milli).padStart(3, '0')}`;
        expect(quantityMilli(text)).toEqual({
          ok: true,
          value: BigInt(whole) * 1000n + BigInt(milli),
        });
      }),
    );
  });
});

describe('bigints of whole numbers', () => {
  it('are BigInt(n), from the cache of small ones and past it', () => {
    for (const n of [0, 1, 100, 1024, 1025, 2 ** 40]) expect(bigIntOf(n)).toBe(BigInt(n));
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(bigIntOf(n)).toBe(BigInt(n));
      }),
    );
  });
});

describe('whole numbers and decimals', () => {
  it('reads whole numbers of 0 or more only', () => {
    expect(wholeNumber(50)).toEqual({ ok: true, value: 50n });
    expect(wholeNumber(0)).toEqual({ ok: true, value: 0n });
    expect(wholeNumber(-10)).toEqual({ ok: false, reason: '-10, which is negative' });
    expect(wholeNumber(1.5)).toEqual({ ok: false, reason: '1.5, which is not a whole number' });
    expect(wholeNumber('50')).toEqual({
      ok: false,
      reason: '"50" (a string), which is not a whole number',
    });
    expect(wholeNumber(2 ** 60)).toMatchObject({ ok: false });
  });

  it('keeps decimals exactly as written', () => {
    expect(decimalNumber(33.33)).toEqual({ ok: true, digits: 3333n, scale: 2 });
    expect(decimalNumber(100)).toEqual({ ok: true, digits: 100n, scale: 0 });
    expect(decimalNumber(1e-7)).toEqual({ ok: true, digits: 1n, scale: 7 });
    expect(decimalNumber(1e21)).toEqual({ ok: true, digits: 10n ** 21n, scale: 0 });
    expect(decimalNumber(-1)).toMatchObject({ ok: false });
  });
});

describe('percentages for messages', () => {
  it('rounds to one decimal but never shows a non-zero share as 0%', () => {
    expect(formatPercent(rational(1n, 3n))).toBe('33.3%');
    expect(formatPercent(rational(1n, 2n))).toBe('50%');
    expect(formatPercent(rational(1n, 501n), 2)).toBe('0.2%');
    expect(formatPercent(rational(1n, 100_000n))).toBe('0.1%');
    expect(formatPercent(rational(0n, 1n))).toBe('0%');
  });
});

describe('Service references', () => {
  it.each([
    ['reviews', { name: 'reviews', namespace: undefined }],
    ['reviews.shop', { name: 'reviews', namespace: 'shop' }],
    ['reviews.shop.svc', { name: 'reviews', namespace: 'shop' }],
    ['reviews.shop.svc.cluster.local', { name: 'reviews', namespace: 'shop' }],
    ['reviews.shop.svc.corp.example', { name: 'reviews', namespace: 'shop' }],
  ])('%s', (text, expected) => {
    expect(parseServiceRef(text)).toEqual({ ok: true, ...expected });
  });

  it.each([
    'Reviews',
    'reviews_v2',
    'reviews.shop.cluster.local',
    'reviews..svc',
    '',
    'a'.repeat(64),
  ])('refuses %j', (text) => {
    expect(parseServiceRef(text).ok).toBe(false);
  });
});
