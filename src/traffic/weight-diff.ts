import type { RouteShift } from './compare.js';
import { totalWeight } from './model.js';
import { compare, rational, subtract, percentagePoints, type Rational } from './rational.js';

/** One backend's exact share before and after an edit, with its rise in percentage points. */
export interface BackendRise {
  readonly id: string;
  readonly name: string;
  readonly oldShare: Rational;
  readonly newShare: Rational;
  /** Rise in percentage points (negative for a fall), exact. */
  readonly risePoints: Rational;
}

/** What an edit does to one route, as the weight-shift guard judges it. */
export interface RouteRise {
  readonly key: string;
  readonly label: string;
  readonly path: string;
  /** The route did not exist before (or the object is being created). */
  readonly created: boolean;
  /**
   * The backend with the strictly largest share before the edit (after it, for a created route):
   * the version traffic may always return to. Undefined on a tie.
   */
  readonly incumbent: string | undefined;
  readonly backends: readonly BackendRise[];
}

/**
 * Every route of the new object with each backend's rise, on exact shares, from routes already
 * paired by key (backends by id) with `pairRoutes`. Routes whose new weights are all zero carry
 * no shares and are left out; structural rules judge them. A backend new in a route starts from 0.
 */
export function routeRises(pairs: readonly RouteShift[]): RouteRise[] {
  const out: RouteRise[] = [];
  for (const route of pairs) {
    if (totalWeight(route.after) === 0n) continue;
    const created = route.before === undefined || totalWeight(route.before) === 0n;
    const shares = new Map<string, Rational>();
    for (const b of route.backends) {
      if (created ? b.inAfter : b.inBefore) shares.set(b.id, created ? b.after : b.before);
    }
    out.push({
      key: route.key,
      label: route.label,
      path: route.after.path,
      created,
      incumbent: largest(shares),
      backends: route.backends.map((b) => ({
        id: b.id,
        name: b.name,
        oldShare: b.before,
        newShare: b.after,
        risePoints: percentagePoints(subtract(b.after, b.before)),
      })),
    });
  }
  return out;
}

function largest(shares: ReadonlyMap<string, Rational>): string | undefined {
  let best: string | undefined;
  let bestShare: Rational | undefined;
  let tie = false;
  for (const [id, share] of shares) {
    const order = bestShare === undefined ? 1 : compare(share, bestShare);
    if (order > 0) {
      best = id;
      bestShare = share;
      tie = false;
    } else if (order === 0) tie = true;
  }
  return tie ? undefined : best;
}

/** Percentage points as an exact rational. */
export function points(n: number): Rational {
  return rational(BigInt(Math.round(n * 1000)), 1000n);
}

/** A share in percent as a plain number, for suggestions in messages. */
export function percentNumber(share: Rational): number {
  return Number((share.num * 100_000n) / share.den) / 1000;
}
