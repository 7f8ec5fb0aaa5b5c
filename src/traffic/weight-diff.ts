import type { Rational } from './rational.js';

/** A share in percent as a plain number, for suggestions in messages. */
export function percentNumber(share: Rational): number {
  return Number((share.num * 100_000n) / share.den) / 1000;
}
