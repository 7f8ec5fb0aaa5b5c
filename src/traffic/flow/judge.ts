/**
 * Compares the traffic of an old and a new object root by root and class by class: for every
 * probe, under every reading of what cannot be evaluated, the share each backend had and gets.
 * Findings are data; the weight-shift rule turns them into messages.
 */
import { compare, rational, subtract, ZERO, type Rational } from '../rational.js';
import { probesFor, scenarios } from './evaluate.js';
import type { FlowObject, FlowRoute, Probe, RootRef } from './model.js';
import { containingRoot } from './roots.js';
import { subsetOf } from './build.js';

const ONE = rational(1n, 1n);
const HALF = rational(1n, 2n);
const NOTHING: ReadonlyMap<string, Rational> = new Map();

/** The shares a route gives; a route that fails, cannot be read or serves nothing gives none. */
export function sharesOf(route: FlowRoute | undefined): ReadonlyMap<string, Rational> {
  if (!route) return NOTHING;
  if (route.outcome.kind === 'shares') return route.outcome.shares;
  if (route.outcome.kind === 'opaque') return new Map([[route.outcome.id, ONE]]);
  return NOTHING;
}

function sameShares(a: ReadonlyMap<string, Rational>, b: ReadonlyMap<string, Rational>): boolean {
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) if (compare(a.get(k) ?? ZERO, b.get(k) ?? ZERO) !== 0) return false;
  return true;
}

/**
 * The backend that every untargeted request of `root` reaches with a strict majority (`majority`)
 * or with all of it (`all`); undefined when there is none, or no request is served.
 */
export function commonBackend(
  object: FlowObject,
  root: RootRef,
  need: 'majority' | 'all',
): string | undefined {
  let found: string | undefined;
  let served = false;
  for (const probe of probesFor([object])) {
    if (probe.targeted) continue;
    for (const s of scenarios(undefined, undefined, object, root, probe)) {
      if (!s.after) continue;
      served = true;
      if (s.after.outcome.kind !== 'shares') return undefined;
      let best: string | undefined;
      for (const [id, share] of s.after.outcome.shares) {
        if (need === 'all' ? compare(share, ONE) === 0 : compare(share, HALF) > 0) best = id;
      }
      if (best === undefined || (found !== undefined && found !== best)) return undefined;
      found = best;
    }
  }
  return served ? found : undefined;
}

/** One backend's share of one class of one root, before and after. */
export interface Movement {
  readonly backend: string;
  readonly before: Rational;
  readonly after: Rational;
  readonly probe: Probe;
  readonly oldRoute: FlowRoute | undefined;
  readonly newRoute: FlowRoute | undefined;
  /** The reading is the least favourable of several (a condition could not be evaluated). */
  readonly uncertain: boolean;
}

export interface Narrowing {
  readonly from: string;
  readonly to: string;
  readonly route: FlowRoute;
}

export interface RootVerdict {
  readonly root: RootRef;
  /** The old root whose traffic this is; undefined: new to the object (or a CREATE). */
  readonly previous: RootRef | undefined;
  readonly stable: string | undefined;
  /** Untargeted traffic of this root moved. */
  readonly moved: boolean;
  /** It moved, and every untargeted request now reaches the stable backend only. */
  readonly rollback: boolean;
  /** Opt-in traffic of this root (a header, cookie or query match) changed; it is not limited. */
  readonly targetedMoved: boolean;
  /** Per backend other than the stable one, its largest rise (only rises). */
  readonly rises: readonly Movement[];
  /** Per backend other than the stable one, its largest share where it rose. */
  readonly peaks: readonly Movement[];
  readonly narrowed: readonly Narrowing[];
}

export interface Judgement {
  readonly roots: readonly RootVerdict[];
  /** Any traffic moved, targeted or not, or a root came or went. */
  readonly changed: boolean;
  /** Untargeted traffic moved. */
  readonly moved: boolean;
  /** Routes of the new object whose weights are all 0 and were not so before. */
  readonly zeroRoutes: readonly FlowRoute[];
}

/**
 * `before` undefined is a CREATE: each root's stable backend is its strict majority, and only the
 * share limit applies. On UPDATE `stable` holds each old root's stable backend.
 */
export function judgeTraffic(
  before: FlowObject | undefined,
  after: FlowObject,
  stable: ReadonlyMap<string, string>,
): Judgement {
  const probes = probesFor([before, after]);
  let changed = before === undefined;
  let movedAny = false;
  if (before) {
    const contained = new Set(after.roots.map((r) => containingRoot(before.roots, r)?.key));
    if (before.roots.some((r) => !contained.has(r.key))) changed = true;
  }
  const roots: RootVerdict[] = after.roots.map((root) => {
    const previous = before ? containingRoot(before.roots, root) : undefined;
    if (before && !previous) changed = true;
    const stableId = before
      ? previous
        ? stable.get(previous.key)
        : undefined
      : commonBackend(after, root, 'majority');
    const rises = new Map<string, Movement>();
    const peaks = new Map<string, Movement>();
    const narrowed = new Map<string, Narrowing>();
    let moved = false;
    let targetedMoved = false;
    let allStable = true;
    for (const probe of probes) {
      for (const s of scenarios(previous ? before : undefined, previous, after, root, probe)) {
        const o = sharesOf(s.before);
        const n = sharesOf(s.after);
        const same = sameShares(o, n);
        if (!same) changed = true;
        if (probe.targeted) {
          if (!same) targetedMoved = true;
          continue;
        }
        if (!same) moved = true;
        if (s.after && !(stableId !== undefined && compare(n.get(stableId) ?? ZERO, ONE) === 0))
          allStable = false;
        const counted = narrowings(o, n);
        for (const [b, share] of n) {
          const was = counted.get(b) ?? b;
          if (was !== b && s.after)
            narrowed.set(`${was}>${b}`, { from: was, to: b, route: s.after });
          if (b === stableId || was === stableId) continue;
          const old = o.get(was) ?? ZERO;
          const m: Movement = {
            backend: b,
            before: old,
            after: share,
            probe,
            oldRoute: s.before,
            newRoute: s.after,
            uncertain: s.uncertain,
          };
          const rise = subtract(share, old);
          if (compare(rise, ZERO) <= 0) continue;
          const r = rises.get(b);
          if (!r || compare(rise, subtract(r.after, r.before)) > 0) rises.set(b, m);
          const p = peaks.get(b);
          if (!p || compare(share, p.after) > 0) peaks.set(b, m);
        }
      }
    }
    if (moved) movedAny = true;
    return {
      root,
      previous,
      stable: stableId,
      moved,
      rollback: moved && allStable && stableId !== undefined,
      targetedMoved,
      rises: [...rises.values()],
      peaks: [...peaks.values()],
      narrowed: [...narrowed.values()],
    };
  });
  const oldZero = new Set(
    before?.routes.filter((r) => r.outcome.kind === 'zero').map((r) => r.key) ?? [],
  );
  const zeroRoutes = after.routes.filter((r) => r.outcome.kind === 'zero' && !oldZero.has(r.key));
  return { roots, changed, moved: movedAny, zeroRoutes };
}

/**
 * New backends that only narrow an old one to one of its subsets (`echo` → `echo` subset v1):
 * counted as the old backend. Two subsets of it at once are two new backends.
 */
function narrowings(
  o: ReadonlyMap<string, Rational>,
  n: ReadonlyMap<string, Rational>,
): ReadonlyMap<string, string> {
  const byBase = new Map<string, string[]>();
  for (const b of n.keys()) {
    const { base, subset } = subsetOf(b);
    if (subset === undefined || o.has(b) || !o.has(base)) continue;
    byBase.set(base, [...(byBase.get(base) ?? []), b]);
  }
  const out = new Map<string, string>();
  for (const [base, list] of byBase) if (list.length === 1 && !n.has(base)) out.set(list[0]!, base);
  return out;
}
