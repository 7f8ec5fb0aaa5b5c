import type { WeightedSplit } from './model.js';
import { compare, sharesById, ZERO, type Rational } from './rational.js';

/** One backend's exact share before and after an update. */
export interface BackendShift {
  readonly id: string;
  /** The name in the new object when the backend is still there, else in the old one. */
  readonly name: string;
  /** 0 when the backend is new in the route, or the old route sent no traffic. */
  readonly before: Rational;
  /** 0 when the backend was removed, or the new route sends no traffic. */
  readonly after: Rational;
  readonly inBefore: boolean;
  readonly inAfter: boolean;
}

/** One route of the new object paired with the route of the same key in the old one. */
export interface RouteShift {
  readonly key: string;
  readonly label: string;
  readonly before: WeightedSplit | undefined;
  readonly after: WeightedSplit;
  /** Old backends first (in old order), then backends new in this route. */
  readonly backends: readonly BackendShift[];
}

/**
 * Pairs the routes of an old and a new object by key, and each backend by id, with exact shares:
 * what an update does to the traffic, route by route. Routes that disappeared are not listed
 * (they carry no traffic any more).
 */
export function pairRoutes(
  before: readonly WeightedSplit[],
  after: readonly WeightedSplit[],
): RouteShift[] {
  const oldByKey = new Map(before.map((s) => [s.key, s]));
  return after.map((route) => {
    const old = oldByKey.get(route.key);
    const oldShares = old ? sharesById(old) : undefined;
    const newShares = sharesById(route);
    const oldIds = new Set(old?.backends.map((b) => b.id) ?? []);
    const newIds = new Set(route.backends.map((b) => b.id));
    // Names from the new object win: that is what the user just wrote.
    const names = new Map<string, string>();
    for (const b of [...(old?.backends ?? []), ...route.backends]) names.set(b.id, b.name);
    const order = [...new Set([...(old?.backends ?? []), ...route.backends].map((b) => b.id))];
    return {
      key: route.key,
      label: route.label,
      before: old,
      after: route,
      backends: order.map((id) => ({
        id,
        name: names.get(id) ?? id,
        before: oldShares?.get(id) ?? ZERO,
        after: newShares?.get(id) ?? ZERO,
        inBefore: oldIds.has(id),
        inAfter: newIds.has(id),
      })),
    };
  });
}

/**
 * Does the update move traffic: does any backend's exact share change, in any route? Scaling all
 * weights alike (50/50 to 1/1) or dropping a backend that had 0 moves nothing.
 */
export function sharesChanged(
  before: readonly WeightedSplit[],
  after: readonly WeightedSplit[],
  /** `pairRoutes(before, after)`, when the caller has it already. */
  pairs: readonly RouteShift[] = pairRoutes(before, after),
): boolean {
  const newKeys = new Set(after.map((s) => s.key));
  const dropped = before.some((s) => !newKeys.has(s.key) && sharesById(s) !== undefined);
  return dropped || pairs.some((r) => r.backends.some((b) => compare(b.before, b.after) !== 0));
}
