import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import {
  compare,
  formatPercent,
  rational,
  subtract,
  ZERO,
  type Rational,
} from '../traffic/rational.js';
import type { RouteKindId } from '../mesh/routes.js';
import { readRolloutRouting, type RolloutRouteRef, type RolloutRouting } from './argo-rollout.js';
import {
  backendRef,
  changedRoutes,
  objectRoutes,
  shareOf,
  type RouteShares,
} from './route-backends.js';
import { describeController, type ControllerVerdict } from './trust-common.js';

/**
 * Argo Rollouts' route writes, verified against a cached Rollout that names the route object
 * (argoproj/argo-rollouts rollout/trafficrouting.go reconcileTrafficRouting). Per reconcile the
 * controller writes one canary weight out of `maxTrafficWeight`, the stable Service taking the
 * rest (rollout/trafficrouting/istio/istio.go processRoutes, smi/smi.go, and the Gateway API
 * plugin's pkg/plugin/httproute.go setHTTPRouteWeight):
 * - a setWeight step's weight (also the previous one while replicas are not ready);
 * - `maxTrafficWeight` at the end of the steps: the full promotion;
 * - 0 once fully promoted, when the stable Service already selects the new pods: the reset
 *   (stable 0 → 100, canary 100 → 0);
 * - 0 on abort, or with `dynamicStableScale` a canary weight falling in steps.
 */

type Move =
  { ok: true; what: string; rise: Rational; canary: Rational } | { ok: false; why: string };

/** Which route kinds each of Argo's traffic routers writes. */
function readerMatches(via: RolloutRouteRef['via'], kind: RouteKindId): boolean {
  if (via === 'istio') return kind === 'istio-virtualservice';
  if (via === 'smi') return kind === 'smi-trafficsplit';
  return kind.startsWith('gateway-');
}

export function argoVerdict(
  object: KubeObject,
  ctx: RuleContext,
  account: string,
): ControllerVerdict {
  const who = describeController('argo-rollouts', account);
  const namespace = object.metadata?.namespace ?? ctx.request.namespace ?? '';
  const name = object.metadata?.name ?? '';
  const what = `${object.kind ?? 'object'} ${namespace}/${name}`;
  const judge = (why: string): ControllerVerdict => ({
    controller: 'argo-rollouts',
    decision: 'judge',
    reason: `${who} not trusted for this write: ${why}`,
  });
  const current = objectRoutes(object, ctx);
  if (!current || current.errors > 0) return judge(`${what} could not be read as routes`);
  const kind = current.kind;
  const rollouts = ctx.cluster
    .rollouts()
    .map(readRolloutRouting)
    .map((r) => ({
      r,
      ref: r.refs.find(
        (ref) =>
          ref.kind === object.kind &&
          ref.namespace === namespace &&
          ref.name === name &&
          readerMatches(ref.via, kind),
      ),
    }))
    .filter((x): x is { r: RolloutRouting; ref: RolloutRouteRef } => x.ref !== undefined);
  if (rollouts.length === 0)
    return judge(
      `no Argo Rollout known to meshwarden names ${what} in spec.strategy.canary.trafficRouting`,
    );
  const old = ctx.request.oldObject ? objectRoutes(ctx.request.oldObject, ctx) : undefined;
  const before = old?.routes ?? [];
  const changed = changedRoutes(before, current.routes);
  let firstFailure: string | undefined;
  for (const { r, ref } of rollouts) {
    const result = judgeMoves(r, ref, kind, before, changed);
    if (!result.ok) {
      firstFailure ??= `${result.why} (Rollout ${r.namespace}/${r.name}: ${describeMoves(r)})`;
      continue;
    }
    const warnings = beyondPolicy(r, result.moves, ctx);
    const moves = [...new Set(result.moves.map((m) => m.what))].join(', ') || 'no weight change';
    return {
      controller: 'argo-rollouts',
      decision: 'allow',
      reason: `${who} for Rollout ${r.namespace}/${r.name}: ${moves}${warnings.length > 0 ? `; ${warnings.join('; ')}` : ''}`,
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }
  return judge(firstFailure ?? `${what} is not written this way by Argo Rollouts`);
}

function judgeMoves(
  r: RolloutRouting,
  ref: RolloutRouteRef,
  kind: RouteKindId,
  before: readonly RouteShares[],
  changed: readonly RouteShares[],
): { ok: true; moves: Extract<Move, { ok: true }>[] } | { ok: false; why: string } {
  const moves: Extract<Move, { ok: true }>[] = [];
  const oldByKey = new Map(before.map((b) => [b.split.key, b]));
  for (const route of changed) {
    const move = judgeRoute(r, ref, kind, route, oldByKey.get(route.split.key));
    if (!move.ok) return { ok: false, why: `${route.split.label}: ${move.why}` };
    moves.push(move);
  }
  return { ok: true, moves };
}

function judgeRoute(
  r: RolloutRouting,
  ref: RolloutRouteRef,
  kind: RouteKindId,
  route: RouteShares,
  old: RouteShares | undefined,
): Move {
  const role = (id: string): 'canary' | 'stable' | undefined => {
    const b =
      route.split.backends.find((x) => x.id === id) ?? old?.split.backends.find((x) => x.id === id);
    if (!b) return undefined;
    const ref2 = backendRef(kind, b);
    if (ref2.namespace !== undefined && ref2.namespace !== r.namespace) return undefined;
    if (ref2.subset !== undefined) {
      if (ref2.subset === r.canarySubset) return 'canary';
      if (ref2.subset === r.stableSubset) return 'stable';
      return undefined;
    }
    if (ref2.name === r.canaryService && r.canaryService !== '') return 'canary';
    if (ref2.name === r.stableService && r.stableService !== '') return 'stable';
    return undefined;
  };
  let canary = ZERO;
  let oldCanary = ZERO;
  for (const b of route.split.backends) {
    const share = shareOf(route, b.id);
    const which = role(b.id);
    if (which === undefined && share.num > 0n)
      return {
        ok: false,
        why: `${b.name} is neither the canary nor the stable Service of the Rollout`,
      };
    if (which === 'canary') canary = add(canary, share);
  }
  if (old)
    for (const b of old.split.backends)
      if (role(b.id) === 'canary') oldCanary = add(oldCanary, shareOf(old, b.id));
  const one = rational(1n, 1n);
  const rise = subtract(canary, oldCanary);
  // Header and mirror routes (setHeaderRoute, setMirrorRoute) send their matched traffic to the canary.
  if (r.managedRoutes.includes(route.split.key) && compare(canary, one) === 0)
    return { ok: true, what: `managed route ${route.split.key}`, rise: ZERO, canary };
  if (
    ref.via === 'istio' &&
    ref.routes.length > 0 &&
    !/^(tls|tcp)\[/.test(route.split.key) &&
    !ref.routes.includes(route.split.key)
  )
    return { ok: false, why: `the Rollout manages routes ${ref.routes.join(', ')}, not this one` };
  if (route.shares === undefined) return { ok: false, why: 'the route sends no traffic' };
  const max = BigInt(r.maxTrafficWeight);
  const at = (w: number) => rational(BigInt(w), max);
  if (compare(canary, one) === 0)
    return { ok: true, what: 'full promotion (canary 100%)', rise, canary };
  if (compare(canary, ZERO) === 0)
    return compare(oldCanary, one) === 0
      ? { ok: true, what: 'post-promotion reset (stable 100%)', rise, canary }
      : { ok: true, what: 'abort (stable 100%)', rise, canary };
  const step = r.steps.find(
    (s) => Number.isInteger(s.weight) && compare(at(s.weight), canary) === 0,
  );
  if (step)
    return { ok: true, what: `setWeight ${step.weight} (steps[${step.index}])`, rise, canary };
  if (r.dynamicStableScale && compare(canary, oldCanary) < 0)
    return {
      ok: true,
      what: `abort with dynamicStableScale (canary ${formatPercent(canary)})`,
      rise,
      canary,
    };
  return {
    ok: false,
    why: `canary at ${formatPercent(canary)} is not one of the Rollout's weights`,
  };
}

function percent(n: number): Rational {
  return rational(BigInt(Math.round(n * 1000)), 100_000n);
}

function add(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

function describeMoves(r: RolloutRouting): string {
  const weights = r.steps.map((s) => s.weight).join(', ');
  return `setWeight ${weights || 'none'}, full promotion ${r.maxTrafficWeight}, reset or abort 0`;
}

/** A Rollout step beyond the policy still passes (Argo would retry it forever): said, and recorded. */
function beyondPolicy(
  r: RolloutRouting,
  moves: readonly Extract<Move, { ok: true }>[],
  ctx: RuleContext,
): string[] {
  const { maxStepWeight, maxCanaryWeight } = ctx.policy.weightShift;
  const out: string[] = [];
  for (const m of moves) {
    if (compare(m.rise, percent(maxStepWeight)) > 0)
      out.push(
        `Rollout ${r.namespace}/${r.name} steps further than the policy allows (${m.what}, canary to ${formatPercent(m.canary)}; maxStepWeight ${maxStepWeight}): change its steps`,
      );
    else if (
      maxCanaryWeight < 100 &&
      compare(m.canary, rational(1n, 1n)) < 0 &&
      compare(m.canary, percent(maxCanaryWeight)) > 0
    )
      out.push(
        `Rollout ${r.namespace}/${r.name} sends ${formatPercent(m.canary)} to its canary, above maxCanaryWeight ${maxCanaryWeight}%: change its steps`,
      );
  }
  return [...new Set(out)];
}
