import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { canaryAnalysis, flaggerStepLimit, type CanaryAnalysis } from '../traffic/flagger.js';
import type { SplitBackend } from '../traffic/model.js';
import { compare, isWhole, rational, subtract, ZERO, type Rational } from '../traffic/rational.js';
import { asArray, asRecord, isRecord } from '../util/objects.js';
import { backendRef, objectRoutes, shareOf, type RouteShares } from './route-backends.js';
import { describeController, type ControllerVerdict } from './trust-common.js';

/**
 * Flagger's writes, verified against its Canary in the watch cache (fluxcd/flagger
 * pkg/apis/flagger/v1beta1/canary.go GetServiceNames; pkg/router/*.go SetRoutes). Flagger names
 * what it writes after the Canary's apex (`spec.service.name`, else `spec.targetRef.name`): the
 * routing object `<apex>` (App Mesh also `<apex>-canary`), the backends `<apex>-primary` and
 * `<apex>-canary` (Gloo: upstreams `<ns>-<apex>-primaryupstream-<port>`), and it sets a
 * controller ownerReference to the Canary with its uid.
 */

export interface CanaryNames {
  readonly apex: string;
  readonly target: string;
  readonly targetKind: string;
}

export function canaryNames(canary: KubeObject): CanaryNames {
  const spec = asRecord(canary.spec);
  const targetRef = asRecord(spec?.targetRef);
  const target = typeof targetRef?.name === 'string' ? targetRef.name : '';
  const service = asRecord(spec?.service);
  const apex = typeof service?.name === 'string' && service.name !== '' ? service.name : target;
  const targetKind = typeof targetRef?.kind === 'string' ? targetRef.kind : 'Deployment';
  return { apex, target, targetKind };
}

/** Which objects a Canary acts on: its routes, or its target workload and `-primary` copy. */
export type CanaryRole = 'route' | 'workload';

function targets(canary: KubeObject, object: KubeObject, role: CanaryRole): boolean {
  const { apex, target, targetKind } = canaryNames(canary);
  const name = object.metadata?.name ?? '';
  if (apex === '' || target === '') return false;
  if (role === 'workload')
    return object.kind === targetKind && [target, `${target}-primary`].includes(name);
  return [apex, `${apex}-primary`, `${apex}-canary`].includes(name);
}

function describeTargets(canary: KubeObject, role: CanaryRole): string {
  const { apex, target } = canaryNames(canary);
  return role === 'workload'
    ? `${target} and ${target}-primary`
    : `${apex}, ${apex}-primary and ${apex}-canary`;
}

export type CanaryCheck =
  | { readonly ok: true; readonly canary: KubeObject; readonly id: string }
  | { readonly ok: false; readonly reason: string };

/**
 * The Canary an object's write may be trusted for: the one its controller ownerReference names,
 * when that Canary is cached with the same uid and targets the object; without a Canary
 * ownerReference (the target workload, which the user owns), a cached Canary that targets it.
 */
export function verifiedCanary(
  object: KubeObject,
  ctx: RuleContext,
  role: CanaryRole,
): CanaryCheck {
  const namespace = object.metadata?.namespace ?? ctx.request.namespace ?? '';
  const what = `${object.kind ?? 'object'} ${namespace}/${object.metadata?.name ?? ''}`;
  const owner = canaryOwner(object);
  if (owner !== undefined) {
    const id = `${namespace}/${owner.name}`;
    const canary = ctx.cluster.canary(namespace, owner.name);
    if (!canary)
      return {
        ok: false,
        reason: `Canary ${id} named in its ownerReferences is not known to meshwarden (not in the watch cache)`,
      };
    const uid = canary.metadata?.uid;
    if (uid === undefined || uid !== owner.uid)
      return {
        ok: false,
        reason: `its ownerReference to Canary ${id} has uid ${owner.uid ?? 'none'}, but that Canary's uid is ${uid ?? 'unknown'}`,
      };
    if (!targets(canary, object, role))
      return {
        ok: false,
        reason: `Canary ${id} acts on ${describeTargets(canary, role)}, not on ${what}`,
      };
    return { ok: true, canary, id };
  }
  const canary = ctx.cluster.canaries(namespace).find((c) => targets(c, object, role));
  if (!canary)
    return {
      ok: false,
      reason: `no Canary known in ${namespace} acts on ${what}, and it has no Canary ownerReference`,
    };
  return { ok: true, canary, id: `${namespace}/${canary.metadata?.name ?? ''}` };
}

function canaryOwner(object: KubeObject): { name: string; uid: string | undefined } | undefined {
  for (const ref of asArray(object.metadata?.ownerReferences) ?? []) {
    if (
      isRecord(ref) &&
      ref.kind === 'Canary' &&
      typeof ref.apiVersion === 'string' &&
      ref.apiVersion.startsWith('flagger.app/')
    ) {
      return {
        name: typeof ref.name === 'string' ? ref.name : '',
        uid: typeof ref.uid === 'string' ? ref.uid : undefined,
      };
    }
  }
  return undefined;
}

/**
 * The highest canary weight Flagger writes with this analysis: the largest of `stepWeights`, or
 * the first multiple of `stepWeight` at or above `maxWeight` (the check comes before the step,
 * so the last step may overshoot), or all of it for Blue/Green and A/B.
 */
export function canaryPeak(a: CanaryAnalysis): number {
  if (a.stepWeights.length > 0) return Math.min(100, Math.max(...a.stepWeights));
  if (a.stepWeight > 0) {
    const max = a.maxWeight > 0 ? a.maxWeight : 100;
    return Math.min(100, Math.ceil(max / a.stepWeight) * a.stepWeight);
  }
  return 100;
}

/** A trusted Flagger account's write to a route object. */
export function flaggerRouteVerdict(
  object: KubeObject,
  ctx: RuleContext,
  account: string,
): ControllerVerdict {
  const who = describeController('flagger', account);
  const check = verifiedCanary(object, ctx, 'route');
  if (!check.ok)
    return {
      controller: 'flagger',
      decision: 'judge',
      reason: `${who} not trusted for this write: ${check.reason}`,
    };
  const { canary, id } = check;
  const { apex } = canaryNames(canary);
  const namespace = canary.metadata?.namespace ?? '';
  const primary = primaryShares(object, ctx, apex, namespace);
  if (primary?.every((p) => isWhole(p.after)))
    return {
      controller: 'flagger',
      decision: 'allow',
      reason: `${who} for Canary ${id}: all traffic to ${apex}-primary (promotion end or rollback)`,
    };
  const analysis = canaryAnalysis(canary);
  const step = flaggerStepLimit(analysis);
  const limits = { maxStepWeight: step > 0 ? step : 100, maxCanaryWeight: canaryPeak(analysis) };
  // A promotion in steps of stepWeightPromotion moves traffic back to the primary, which by then
  // runs the new version: bounded by the Canary's step, whatever share the canary had.
  if (
    primary !== undefined &&
    primary.every(
      (p) =>
        compare(p.after, p.before) >= 0 &&
        compare(subtract(p.after, p.before), rational(BigInt(limits.maxStepWeight), 100n)) <= 0,
    )
  )
    return {
      controller: 'flagger',
      decision: 'allow',
      reason: `${who} for Canary ${id}: traffic back toward ${apex}-primary within its step of ${limits.maxStepWeight} points (promotion)`,
    };
  const policy = ctx.policy.weightShift;
  const warnings: string[] = [];
  if (
    limits.maxStepWeight > policy.maxStepWeight ||
    limits.maxCanaryWeight > policy.maxCanaryWeight
  )
    warnings.push(
      `Canary ${id} steps by up to ${limits.maxStepWeight} points to ${limits.maxCanaryWeight}%, beyond the policy (maxStepWeight ${policy.maxStepWeight}, maxCanaryWeight ${policy.maxCanaryWeight}); change its analysis`,
    );
  return {
    controller: 'flagger',
    decision: 'judge',
    reason: `${who} for Canary ${id}: bounded by its analysis (steps of up to ${limits.maxStepWeight} points, canary at most ${limits.maxCanaryWeight}%)`,
    ...(warnings.length > 0 ? { warnings } : {}),
    limits,
  };
}

/**
 * The share of `<apex>-primary` in each route of the object, before (the old object's route of
 * the same key; 0 when new) and after. Undefined when the object cannot be read fully.
 */
function primaryShares(
  object: KubeObject,
  ctx: RuleContext,
  apex: string,
  namespace: string,
): { before: Rational; after: Rational }[] | undefined {
  const read = objectRoutes(object, ctx);
  if (!read || read.errors > 0 || read.routes.length === 0) return undefined;
  const old = ctx.request.oldObject ? objectRoutes(ctx.request.oldObject, ctx) : undefined;
  const kind = read.kind;
  const isPrimary = (b: SplitBackend) => {
    const ref = backendRef(kind, b);
    if (ref.namespace !== undefined && ref.namespace !== namespace) return false;
    return (
      ref.name === `${apex}-primary` || ref.name.startsWith(`${namespace}-${apex}-primaryupstream-`)
    );
  };
  const primaryOf = (route: RouteShares): Rational => {
    let total = ZERO;
    for (const b of route.split.backends.filter(isPrimary)) {
      const s = shareOf(route, b.id);
      total = rational(total.num * s.den + s.num * total.den, total.den * s.den);
    }
    return total;
  };
  return read.routes.map((route) => {
    const prior = old?.routes.find((r) => r.split.key === route.split.key);
    return { before: prior ? primaryOf(prior) : ZERO, after: primaryOf(route) };
  });
}

/** Version-label rule: may this workload write pass as Flagger's? Needs the account and the Canary. */
export function flaggerWorkloadTrust(
  object: KubeObject,
  ctx: RuleContext,
  account: string,
): { readonly trusted: boolean; readonly reason: string } {
  const who = describeController('flagger', account);
  const check = verifiedCanary(object, ctx, 'workload');
  if (!check.ok)
    return { trusted: false, reason: `${who} not trusted for this write: ${check.reason}` };
  return { trusted: true, reason: `${who} for Canary ${check.id}` };
}
