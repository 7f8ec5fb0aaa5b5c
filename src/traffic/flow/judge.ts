/**
 * Compares the traffic of an old and a new object root by root and class by class: for every
 * probe, under every reading of what cannot be evaluated, the share each backend had and gets.
 * Findings are data; the weight-shift rule turns them into messages.
 */
import {
  add,
  compare,
  compareRises,
  isWhole,
  overHalf,
  rational,
  subtract,
  ZERO,
  type Rational,
} from '../rational.js';
import { scenarios } from './evaluate.js';
import { objectProbes, pairProbes, uniformProbes } from './probes.js';
import type { CommonBackends, FlowMemo } from './memo.js';
import type { FlowObject, FlowRoute, Probe, RootRef } from './model.js';
import { containingRoot } from './roots.js';
import { subsetOf } from './build.js';

const ONE = rational(1n, 1n);
const NOTHING: ReadonlyMap<string, Rational> = new Map();
const NO_NARROWING: ReadonlyMap<string, string> = new Map();
const NO_MOVEMENTS: readonly Movement[] = [];
const NO_NARROWINGS: readonly Narrowing[] = [];
const NO_CROWD_CLASSES: readonly CrowdClass[] = [];

/** The shares a route gives; a route that fails, cannot be read or serves nothing gives none. */
export function sharesOf(route: FlowRoute | undefined): ReadonlyMap<string, Rational> {
  if (!route) return NOTHING;
  if (route.outcome.kind === 'shares') return route.outcome.shares;
  if (route.outcome.kind === 'opaque') return new Map([[route.outcome.id, ONE]]);
  return NOTHING;
}

function sameShares(a: ReadonlyMap<string, Rational>, b: ReadonlyMap<string, Rational>): boolean {
  if (a === b) return true;
  for (const [k, share] of a) if (compare(share, b.get(k) ?? ZERO) !== 0) return false;
  for (const [k, share] of b) if (!a.has(k) && compare(share, ZERO) !== 0) return false;
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
  memo?: FlowMemo,
): string | undefined {
  if (memo === undefined) return findCommonBackends(object, root, undefined)[need];
  // One pass answers both questions; the stable-backend steps ask both of the new object.
  // A root object belongs to one flow object, so it keys the answer.
  let found = memo.common.get(root);
  if (found === undefined) {
    found = findCommonBackends(object, root, memo);
    memo.common.set(root, found);
  }
  return found[need];
}

function findCommonBackends(
  object: FlowObject,
  root: RootRef,
  memo: FlowMemo | undefined,
): CommonBackends {
  const found = { majority: undefined as string | undefined, all: undefined as string | undefined };
  // Once a question has no answer it stays without one.
  let majorityOpen = true;
  let allOpen = true;
  let served = false;
  const probes =
    memo === undefined
      ? objectProbes(object, memo)
      : (uniformProbes([object], [[object, root]], memo) ?? objectProbes(object, memo));
  for (const probe of probes) {
    if (probe.targeted) continue;
    for (const s of scenarios(undefined, undefined, object, root, probe, memo)) {
      if (!s.after) continue;
      served = true;
      if (s.after.outcome.kind !== 'shares') return { majority: undefined, all: undefined };
      const { majority, all } = routeCommon(s.after, s.after.outcome.shares, memo);
      if (majority === undefined || (found.majority !== undefined && found.majority !== majority))
        majorityOpen = false;
      else found.majority = majority;
      if (all === undefined || (found.all !== undefined && found.all !== all)) allOpen = false;
      else found.all = all;
      if (!majorityOpen && !allOpen) return { majority: undefined, all: undefined };
    }
  }
  return {
    majority: served && majorityOpen ? found.majority : undefined,
    all: served && allOpen ? found.all : undefined,
  };
}

/** The backend a route gives a strict majority, and the one it gives all, once per route. */
function routeCommon(
  route: FlowRoute,
  shares: ReadonlyMap<string, Rational>,
  memo: FlowMemo | undefined,
): CommonBackends {
  const known = memo?.routeCommon.get(route);
  if (known !== undefined) return known;
  let majority: string | undefined;
  let all: string | undefined;
  for (const [id, share] of shares) {
    if (isWhole(share)) all = id;
    if (overHalf(share)) majority = id;
  }
  const found = { majority, all };
  memo?.routeCommon.set(route, found);
  return found;
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

/**
 * The class of one root in which the backends other than the stable one gained the most
 * together, counted only where at least two of them rose: one backend's rise is its own movement.
 */
export interface Spread {
  readonly probe: Probe;
  /** The sum of the rises, as a share of the class. */
  readonly total: Rational;
  /** Each backend's rise in that class, in the new route's order. */
  readonly moves: readonly Movement[];
}

/**
 * The class of one root in which the backends other than the stable one hold the most together
 * after the edit, counted only where their sum rose and at least two of them hold traffic: one
 * backend's share is its own peak.
 */
export interface Crowd {
  readonly probe: Probe;
  /** The sum of their shares after the edit, as a share of the class. */
  readonly total: Rational;
  /** Each one's share after the edit, in the new route's order. */
  readonly holders: readonly { readonly backend: string; readonly share: Rational }[];
  readonly newRoute: FlowRoute | undefined;
}

/** One class's shares before and after, kept for `largestCrowd`. */
export interface CrowdClass {
  readonly probe: Probe;
  readonly before: ReadonlyMap<string, Rational>;
  readonly after: ReadonlyMap<string, Rational>;
  readonly counted: ReadonlyMap<string, string>;
  readonly newRoute: FlowRoute | undefined;
}

/**
 * The class where the backends other than the root's stable one hold the most together, where
 * that sum rose and two or more of them hold traffic; undefined without a stable backend.
 */
export function largestCrowd(verdict: RootVerdict): Crowd | undefined {
  const stableId = verdict.stable;
  if (stableId === undefined) return undefined;
  let crowd: Crowd | undefined;
  for (const c of verdict.crowdClasses) {
    const found = crowdOf(c, stableId);
    if (found && (!crowd || compare(found.total, crowd.total) > 0)) crowd = found;
  }
  return crowd;
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
  /** It moved, and every untargeted request of an old root now reaches the stable backend only. */
  readonly rollback: boolean;
  /** Opt-in traffic of this root (a header, cookie or query match) changed; it is not limited. */
  readonly targetedMoved: boolean;
  /** Per backend other than the stable one, its largest rise (only rises). */
  readonly rises: readonly Movement[];
  /** Per backend other than the stable one, its largest share where it rose. */
  readonly peaks: readonly Movement[];
  /** Undefined unless two or more backends other than the stable one rose in one class. */
  readonly spread: Spread | undefined;
  /**
   * The classes where a backend other than the stable one rose, for `largestCrowd`: summed only
   * when a policy caps the sum (most do not), since a 50-backend split would sum 49 shares.
   */
  readonly crowdClasses: readonly CrowdClass[];
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
  memo?: FlowMemo,
): Judgement {
  const previousRoots = after.roots.map((root) =>
    before ? containingRoot(before.roots, root) : undefined,
  );
  const sides: [FlowObject, RootRef][] = after.roots.map((root) => [after, root]);
  previousRoots.forEach((previous) => {
    if (before && previous) sides.push([before, previous]);
  });
  const probes =
    memo === undefined
      ? pairProbes(before, after, memo)
      : (uniformProbes([before, after], sides, memo) ?? pairProbes(before, after, memo));
  let changed = before === undefined;
  let movedAny = false;
  if (before) {
    const contained = new Set(previousRoots.map((r) => r?.key));
    if (before.roots.some((r) => !contained.has(r.key))) changed = true;
  }
  const roots: RootVerdict[] = after.roots.map((root, i) => {
    const previous = previousRoots[i];
    if (before && !previous) changed = true;
    const stableId = before
      ? previous
        ? stable.get(previous.key)
        : undefined
      : commonBackend(after, root, 'majority', memo);
    // Made on the first rise or narrowing: most roots of most edits have neither.
    let rises: Map<string, Movement> | undefined;
    let peaks: Map<string, Movement> | undefined;
    let narrowed: Map<string, Narrowing> | undefined;
    let spread: Spread | undefined;
    let crowdClasses: CrowdClass[] | undefined;
    let moved = false;
    let targetedMoved = false;
    let allStable = true;
    for (const probe of probes) {
      for (const s of scenarios(
        previous ? before : undefined,
        previous,
        after,
        root,
        probe,
        memo,
      )) {
        const o = sharesOf(s.before);
        const n = sharesOf(s.after);
        const same = sameShares(o, n);
        if (!same) changed = true;
        if (probe.targeted) {
          if (!same) targetedMoved = true;
          continue;
        }
        if (!same) moved = true;
        if (s.after && !(stableId !== undefined && isWhole(n.get(stableId) ?? ZERO)))
          allStable = false;
        const counted = narrowings(o, n);
        let classRises: Movement[] | undefined;
        for (const [b, share] of n) {
          const was = counted.get(b) ?? b;
          if (was !== b && s.after)
            (narrowed ??= new Map()).set(`${was}>${b}`, { from: was, to: b, route: s.after });
          if (b === stableId || was === stableId) continue;
          const old = o.get(was) ?? ZERO;
          if (compare(share, old) <= 0) continue;
          const m: Movement = {
            backend: b,
            before: old,
            after: share,
            probe,
            oldRoute: s.before,
            newRoute: s.after,
            uncertain: s.uncertain,
          };
          const r = rises?.get(b);
          if (!r || compareRises(share, old, r.after, r.before) > 0)
            (rises ??= new Map()).set(b, m);
          const p = peaks?.get(b);
          if (!p || compare(share, p.after) > 0) (peaks ??= new Map()).set(b, m);
          (classRises ??= []).push(m);
        }
        if (classRises !== undefined && classRises.length > 1) {
          let total = ZERO;
          for (const m of classRises) total = add(total, subtract(m.after, m.before));
          if (!spread || compare(total, spread.total) > 0)
            spread = { probe, total, moves: classRises };
        }
        if (classRises !== undefined && stableId !== undefined)
          (crowdClasses ??= []).push({ probe, before: o, after: n, counted, newRoute: s.after });
      }
    }
    if (moved) movedAny = true;
    return {
      root,
      previous,
      stable: stableId,
      moved,
      // Only an old root's traffic can return: a CREATE or a new root has none to return.
      rollback: previous !== undefined && moved && allStable && stableId !== undefined,
      targetedMoved,
      rises: rises ? [...rises.values()] : NO_MOVEMENTS,
      peaks: peaks ? [...peaks.values()] : NO_MOVEMENTS,
      spread,
      crowdClasses: crowdClasses ?? NO_CROWD_CLASSES,
      narrowed: narrowed ? [...narrowed.values()] : NO_NARROWINGS,
    };
  });
  const oldZero = new Set(
    before?.routes.filter((r) => r.outcome.kind === 'zero').map((r) => r.key) ?? [],
  );
  const zeroRoutes = after.routes.filter((r) => r.outcome.kind === 'zero' && !oldZero.has(r.key));
  return { roots, changed, moved: movedAny, zeroRoutes };
}

/** What the backends other than the stable one hold together in one class, where that rose. */
function crowdOf(c: CrowdClass, stableId: string): Crowd | undefined {
  const { before: o, after: n, counted, probe, newRoute } = c;
  const holders: { backend: string; share: Rational }[] = [];
  let total = ZERO;
  for (const [b, share] of n) {
    if (b === stableId || (counted.get(b) ?? b) === stableId || share.num === 0n) continue;
    holders.push({ backend: b, share });
    total = add(total, share);
  }
  if (holders.length < 2) return undefined;
  let before = ZERO;
  for (const [b, share] of o) if (b !== stableId) before = add(before, share);
  return compare(total, before) > 0 ? { probe, total, holders, newRoute } : undefined;
}

/**
 * New backends that only narrow an old one to one of its subsets (`echo` → `echo` subset v1):
 * counted as the old backend. Two subsets of it at once are two new backends.
 */
function narrowings(
  o: ReadonlyMap<string, Rational>,
  n: ReadonlyMap<string, Rational>,
): ReadonlyMap<string, string> {
  let byBase: Map<string, string[]> | undefined;
  for (const b of n.keys()) {
    // Only an id with a subset (`host#v1`) can narrow another.
    if (!b.includes('#')) continue;
    const { base, subset } = subsetOf(b);
    if (subset === undefined || o.has(b) || !o.has(base)) continue;
    byBase ??= new Map();
    byBase.set(base, [...(byBase.get(base) ?? []), b]);
  }
  if (byBase === undefined) return NO_NARROWING;
  const out = new Map<string, string>();
  for (const [base, list] of byBase) if (list.length === 1 && !n.has(base)) out.set(list[0]!, base);
  return out;
}
