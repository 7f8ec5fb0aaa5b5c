import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import {
  add,
  compare,
  formatPercent,
  percentShare,
  rational,
  subtract,
  ZERO,
  type Rational,
} from '../traffic/rational.js';
import type { RouteKindId } from '../mesh/routes.js';
import {
  readRolloutRouting,
  type ExperimentStep,
  type RolloutRouteRef,
  type RolloutRouting,
} from './argo-rollout.js';
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
 * - 0 on abort, or with `dynamicStableScale` a canary weight falling in steps;
 * - at an `experiment` step, each weighted template's Service beside the canary (at the last
 *   setWeight before that step, or 0 while the canary has no pods), all taken from stable
 *   (calculateWeightDestinationsFromExperiment).
 */

type Move =
  | {
      ok: true;
      what: string;
      rise: Rational;
      canary: Rational;
      /** An experiment step's write: the templates' shares, and its step for messages. */
      experiment?: { step: ExperimentStep; shares: readonly Rational[] };
    }
  | { ok: false; why: string };

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
  // Destinations that are neither canary nor stable: an experiment's templates, or not Argo's.
  const others: Rational[] = [];
  let stranger: string | undefined;
  let oldOthers = ZERO;
  for (const b of route.split.backends) {
    const share = shareOf(route, b.id);
    const which = role(b.id);
    if (which === undefined && share.num > 0n) {
      others.push(share);
      stranger ??= b.name;
    }
    if (which === 'canary') canary = add(canary, share);
  }
  if (old)
    for (const b of old.split.backends) {
      const which = role(b.id);
      if (which === 'canary') oldCanary = add(oldCanary, shareOf(old, b.id));
      else if (which === undefined) oldOthers = add(oldOthers, shareOf(old, b.id));
    }
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
  if (stranger !== undefined) {
    const step = experimentWritten(r, others, canary);
    if (!step)
      return {
        ok: false,
        why:
          r.experiments.length === 0
            ? `${stranger} is neither the canary nor the stable Service of the Rollout`
            : `${stranger} is neither the canary nor the stable Service of the Rollout, and the shares beside them (${others.map(formatPercent).join(', ')}, canary ${formatPercent(canary)}) are not an experiment step's templates`,
      };
    let templates = ZERO;
    for (const share of others) templates = add(templates, share);
    return {
      ok: true,
      what: `experiment steps[${step.index}] (templates ${step.weights.join(', ')} of ${r.maxTrafficWeight})`,
      rise: add(rise, subtract(templates, oldOthers)),
      canary,
      experiment: { step, shares: others },
    };
  }
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

/**
 * The experiment step whose weighted templates have exactly these shares (in any order, each out
 * of maxTrafficWeight), with the canary at the last setWeight before that step or at 0.
 */
function experimentWritten(
  r: RolloutRouting,
  others: readonly Rational[],
  canary: Rational,
): ExperimentStep | undefined {
  const max = BigInt(r.maxTrafficWeight);
  const byShare = (a: Rational, b: Rational) => compare(a, b);
  const written = [...others].sort(byShare);
  return r.experiments.find((e) => {
    if (e.weights.length !== written.length || !e.weights.every(Number.isInteger)) return false;
    const wanted = e.weights.map((w) => rational(BigInt(w), max)).sort(byShare);
    if (!wanted.every((w, i) => compare(w, written[i]!) === 0)) return false;
    const before = e.canaryWeight;
    return (
      compare(canary, ZERO) === 0 ||
      (Number.isInteger(before) && compare(canary, rational(BigInt(before), max)) === 0)
    );
  });
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
  const { maxStepWeight, maxTotalStepWeight, maxCanaryWeight, maxTotalCanaryWeight } =
    ctx.policy.weightShift;
  const out: string[] = [];
  for (const m of moves) {
    if (m.experiment) {
      const { step, shares } = m.experiment;
      if (
        shares.some((t) => compare(t, percentShare(maxStepWeight)) > 0) ||
        compare(m.rise, percentShare(maxTotalStepWeight)) > 0
      )
        out.push(
          `Rollout ${r.namespace}/${r.name} sends ${shares.map(formatPercent).join(', ')} to the templates of the experiment at steps[${step.index}] in one update, beyond the policy (maxStepWeight ${maxStepWeight} each, maxTotalStepWeight ${maxTotalStepWeight} together): change its steps`,
        );
      let held = m.canary;
      for (const t of shares) held = add(held, t);
      if (maxTotalCanaryWeight < 100 && compare(held, percentShare(maxTotalCanaryWeight)) > 0)
        out.push(
          `Rollout ${r.namespace}/${r.name} holds ${formatPercent(held)} beside the stable version at the experiment at steps[${step.index}], above maxTotalCanaryWeight ${maxTotalCanaryWeight}%: change its steps`,
        );
      continue;
    }
    if (compare(m.rise, percentShare(maxStepWeight)) > 0)
      out.push(
        `Rollout ${r.namespace}/${r.name} steps further than the policy allows (${m.what}, canary to ${formatPercent(m.canary)}; maxStepWeight ${maxStepWeight}): change its steps`,
      );
    else if (
      maxCanaryWeight < 100 &&
      compare(m.canary, rational(1n, 1n)) < 0 &&
      compare(m.canary, percentShare(maxCanaryWeight)) > 0
    )
      out.push(
        `Rollout ${r.namespace}/${r.name} sends ${formatPercent(m.canary)} to its canary, above maxCanaryWeight ${maxCanaryWeight}%: change its steps`,
      );
  }
  return [...new Set(out)];
}
