import { ALLOW_WEIGHT_JUMP_ANNOTATION, LAST_WEIGHT_CHANGE_ANNOTATION } from '../k8s/keys.js';
import {
  NO_FINDINGS,
  type Note,
  type RuleContext,
  type ValidationResult,
  type Validator,
  type Violation,
} from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import type { PolicySpec } from '../policy/types.js';
import { controllerVerdict, type ControllerVerdict } from './controller-trust.js';
import { WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';
import { routesUnderReview } from './route-reading.js';
import { compare, formatPercent, rational } from '../traffic/rational.js';
import { pairRoutes, sharesChanged } from '../traffic/compare.js';
import {
  percentNumber,
  points,
  routeRises,
  type BackendRise,
  type RouteRise,
} from '../traffic/weight-diff.js';

const RULE = 'weight-shift';

/**
 * Rejects unsafe traffic-weight jumps on every route kind meshwarden reads. Compares old and new
 * route by route on exact shares: a backend may gain at most `maxStepWeight` points per update,
 * except the incumbent (strictly largest old share), to which traffic may always return; no
 * backend but the incumbent may exceed `maxCanaryWeight`. Flagger's own moves are never denied.
 */
export const weightShift: Validator = {
  name: RULE,
  kinds: WEIGHTED_ROUTE_KINDS,
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const policy = ctx.policy.weightShift;
    const { request } = ctx;
    const current = routesUnderReview(object, ctx);
    if (!current.supported) return NO_FINDINGS;
    const previous =
      request.operation === 'UPDATE' && request.oldObject
        ? routesUnderReview(request.oldObject, ctx)
        : undefined;
    const oldSplits = previous?.supported ? previous.splits : undefined;
    const identity = `${current.source.kind} ${current.source.namespace}/${current.source.name}`;
    const notes: Note[] = [];

    // Routes and backends are paired once; both the change check and the judgement use it.
    const pairs = pairRoutes(oldSplits ?? [], current.splits);
    // Unchanged shares (a label edit, a resync) are never judged: only a change can be unsafe.
    if (oldSplits && !sharesChanged(oldSplits, current.splits, pairs)) return NO_FINDINGS;

    const override = overrideFor(object, ctx, notes);
    if (override) return { violations: [], notes };

    const routes = routeRises(pairs);
    // Trusted controllers, verified against the watch caches (controller-trust.ts).
    const verdict = controllerVerdict(object, ctx);
    for (const warning of verdict?.warnings ?? []) notes.push({ rule: RULE, warning });
    if (verdict?.decision === 'allow') {
      notes.push({ rule: RULE, pass: verdict.reason });
      return { violations: [], notes };
    }
    const limits = verdict?.limits;
    const judged = judge(identity, routes, limits ? withLimits(ctx.policy, limits) : ctx.policy);
    if (judged.length === 0 && limits && judge(identity, routes, ctx.policy).length > 0)
      notes.push({ rule: RULE, pass: verdict.reason });
    const violations = judged.map((v) =>
      verdict ? { ...v, message: `${v.message}\n(${verdict.reason})` } : v,
    );
    // Flagger with a verified Canary paces itself (its analysis interval).
    const interval =
      oldSplits && request.oldObject && !limits
        ? intervalViolation(identity, request.oldObject, ctx)
        : undefined;
    if (interval) violations.push(interval);
    return {
      violations: violations.map((v) => ({ ...v, enforcement: policy.enforcement })),
      notes,
    };
  },
};

function judge(
  identity: string,
  routes: readonly RouteRise[],
  policy: PolicySpec,
): Omit<Violation, 'enforcement'>[] {
  const violations: Omit<Violation, 'enforcement'>[] = [];
  for (const route of routes) {
    for (const backend of route.backends) {
      if (backend.id === route.incumbent) continue;
      // On CREATE (or a route the object did not have) only maxCanaryWeight applies.
      const step = route.created ? undefined : stepViolation(identity, route, backend, policy);
      if (step) violations.push(step);
      const cap = capViolation(identity, route, backend, policy);
      if (cap) violations.push(cap);
    }
  }
  return violations;
}

/** The policy with a verified Canary's step limits in place of the policy's own. */
function withLimits(
  policy: PolicySpec,
  limits: NonNullable<ControllerVerdict['limits']>,
): PolicySpec {
  return { ...policy, weightShift: { ...policy.weightShift, ...limits } };
}

function overrideFor(object: KubeObject, ctx: RuleContext, notes: Note[]): boolean {
  const reason = object.metadata?.annotations?.[ALLOW_WEIGHT_JUMP_ANNOTATION]?.trim();
  if (reason === undefined || reason === '') return false;
  const allowed = ctx.policy.weightShift.overrideGroups;
  const user = ctx.request.userInfo.username ?? 'unknown user';
  const groups = ctx.request.userInfo.groups ?? [];
  if (groups.some((g) => allowed.includes(g))) {
    notes.push({
      rule: RULE,
      pass: `override: weight limits lifted by ${user} with ${ALLOW_WEIGHT_JUMP_ANNOTATION}: ${reason}`,
    });
    return true;
  }
  notes.push({
    rule: RULE,
    warning: `${ALLOW_WEIGHT_JUMP_ANNOTATION} ignored: ${user} is not in overrideGroups (${allowed.join(', ') || 'none'})`,
  });
  return false;
}

function stepViolation(
  identity: string,
  route: RouteRise,
  backend: BackendRise,
  policy: PolicySpec,
): Omit<Violation, 'enforcement'> | undefined {
  const max = policy.weightShift.maxStepWeight;
  if (compare(backend.risePoints, points(max)) <= 0) return undefined;
  const from = formatPercent(backend.oldShare);
  const to = formatPercent(backend.newShare);
  const rise = formatPoints(backend.risePoints);
  const steps = stepsThrough(percentNumber(backend.oldShare), percentNumber(backend.newShare), max);
  return {
    rule: RULE,
    field: route.path,
    message:
      `${identity}: ${route.label}: ${backend.name} would rise from ${from} to ${to} (+${rise} points); ` +
      `the policy allows +${max} per update: step through ${steps}, or annotate ${ALLOW_WEIGHT_JUMP_ANNOTATION} ` +
      `with a reason (allowed for ${policy.weightShift.overrideGroups.join(', ') || 'nobody'})`,
    summary: `${route.label}: ${backend.name} ${from}→${to} (+${rise} points) exceeds maxStepWeight ${max}`,
  };
}

function capViolation(
  identity: string,
  route: RouteRise,
  backend: BackendRise,
  policy: PolicySpec,
): Omit<Violation, 'enforcement'> | undefined {
  const cap = policy.weightShift.maxCanaryWeight;
  if (cap >= 100) return undefined;
  const capShare = rational(BigInt(cap), 100n);
  // Only a rise past the cap is refused: lowering a share that is already above it is a way back.
  if (compare(backend.newShare, capShare) <= 0 || compare(backend.newShare, backend.oldShare) <= 0)
    return undefined;
  const to = formatPercent(backend.newShare);
  return {
    rule: RULE,
    field: route.path,
    message:
      `${identity}: ${route.label}: ${backend.name} would reach ${to}, above maxCanaryWeight ${cap}% for a backend other than the incumbent; ` +
      `keep it at ${cap}% or less, or annotate ${ALLOW_WEIGHT_JUMP_ANNOTATION} with a reason (allowed for ${policy.weightShift.overrideGroups.join(', ') || 'nobody'})`,
    summary: `${route.label}: ${backend.name} would reach ${to}, above maxCanaryWeight ${cap}%`,
  };
}

function intervalViolation(
  identity: string,
  oldObject: KubeObject,
  ctx: RuleContext,
): Omit<Violation, 'enforcement'> | undefined {
  const seconds = ctx.policy.weightShift.minStepIntervalSeconds;
  if (seconds <= 0) return undefined;
  const stamp = oldObject.metadata?.annotations?.[LAST_WEIGHT_CHANGE_ANNOTATION];
  const last = stamp === undefined ? NaN : Date.parse(stamp);
  if (Number.isNaN(last)) return undefined;
  const elapsedMs = ctx.now.getTime() - last;
  if (elapsedMs >= seconds * 1000) return undefined;
  const retryAt = new Date(last + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ago = Math.max(0, Math.floor(elapsedMs / 1000));
  return {
    rule: RULE,
    field: `metadata.annotations.${LAST_WEIGHT_CHANGE_ANNOTATION}`,
    message:
      `${identity}: weights last changed at ${stamp} (${ago}s ago); the policy requires ${seconds}s between weight changes ` +
      `(minStepIntervalSeconds): apply again after ${retryAt}`,
    summary: `weights changed ${ago}s ago; minStepIntervalSeconds is ${seconds}: retry after ${retryAt}`,
  };
}

function formatPoints(p: { num: bigint; den: bigint }): string {
  return formatPercent(rational(p.num, p.den * 100n)).replace(/%$/, '');
}

/** `30%, 50%, 60%`: the intermediate shares that reach `to` from `from` within the step. */
function stepsThrough(from: number, to: number, step: number): string {
  const out: number[] = [];
  for (let next = from + step; next < to && out.length < 8; next += step) out.push(next);
  out.push(to);
  return out.map((n) => `${Math.round(n * 10) / 10}%`).join(', ');
}
