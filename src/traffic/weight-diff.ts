import type { WeightedSplit } from './model.js';
import {
  compare,
  rational,
  sharesById,
  subtract,
  toPercent,
  ZERO,
  type Rational,
} from './rational.js';

/** One backend's exact share before and after an edit. */
export interface BackendShift {
  readonly id: string;
  readonly name: string;
  readonly oldShare: Rational;
  readonly newShare: Rational;
  /** Rise in percentage points (negative for a fall), exact. */
  readonly risePoints: Rational;
}

/** How the shares of one route change; routes are paired by their stable key. */
export interface RouteShift {
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
  readonly backends: readonly BackendShift[];
}

/**
 * Pairs old and new routes by key and computes every backend's exact share change. Routes whose
 * new weights are all zero carry no shares and are left out (structural rules judge them). A
 * backend new in a route starts from 0.
 */
export function compareRoutes(
  oldSplits: readonly WeightedSplit[] | undefined,
  newSplits: readonly WeightedSplit[],
): RouteShift[] {
  const oldByKey = new Map((oldSplits ?? []).map((s) => [s.key, s]));
  const out: RouteShift[] = [];
  for (const split of newSplits) {
    const after = sharesById(split);
    if (!after) continue;
    const previous = oldByKey.get(split.key);
    const before = previous ? sharesById(previous) : undefined;
    const created = before === undefined;
    const names = new Map(split.backends.map((b) => [b.id, b.name]));
    const backends: BackendShift[] = [...after].map(([id, newShare]) => {
      const oldShare = before?.get(id) ?? ZERO;
      return {
        id,
        name: names.get(id) ?? id,
        oldShare,
        newShare,
        risePoints: toPercent(subtract(newShare, oldShare)),
      };
    });
    out.push({
      key: split.key,
      label: split.label,
      path: split.path,
      created,
      incumbent: largest(created ? after : before),
      backends,
    });
  }
  return out;
}

/** True when any route's shares differ, or routes appeared or disappeared. */
export function sharesChanged(
  oldSplits: readonly WeightedSplit[],
  newSplits: readonly WeightedSplit[],
): boolean {
  if (oldSplits.length !== newSplits.length) return true;
  const oldByKey = new Map(oldSplits.map((s) => [s.key, s]));
  for (const split of newSplits) {
    const previous = oldByKey.get(split.key);
    if (!previous) return true;
    const a = sharesById(previous);
    const b = sharesById(split);
    if (a === undefined || b === undefined) {
      if (a !== b) return true;
      continue;
    }
    if (a.size !== b.size) return true;
    for (const [id, share] of b) {
      const before = a.get(id);
      if (!before || compare(before, share) !== 0) return true;
    }
  }
  return false;
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
