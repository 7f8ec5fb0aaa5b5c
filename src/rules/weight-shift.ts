import {
  ALLOW_WEIGHT_JUMP_ANNOTATION,
  LAST_WEIGHT_CHANGE_ANNOTATION,
  STABLE_BACKENDS_ANNOTATION,
} from '../k8s/keys.js';
import {
  NO_FINDINGS,
  type Note,
  type RuleContext,
  type ValidationResult,
  type Validator,
} from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';
import { routesUnderReview } from './route-reading.js';
import { controllerVerdict } from './controller-trust.js';
import { trafficUnderReview, type TrafficEdit } from './traffic-edit.js';
import { isRecent } from './weight-change-stamp.js';
import { largestCrowd } from '../traffic/flow/judge.js';
import {
  capFinding,
  crowdFinding,
  RULE,
  spreadFinding,
  stepFinding,
  type Finding,
  type Limits,
  type Wording,
} from './weight-shift-messages.js';

/**
 * Rejects unsafe traffic shifts on every route kind meshwarden reads. It compares the traffic
 * each root's requests reach, class by class, old against new (see docs/traffic.md): a backend
 * other than the root's stable one may gain at most `maxStepWeight` points of any class of
 * untargeted traffic per update, all of them together at most `maxTotalStepWeight`, and each may
 * reach at most `maxCanaryWeight`, all of them together at most `maxTotalCanaryWeight`. Returning all of a root's traffic to its stable backend always
 * passes; opt-in (targeted) traffic is not limited.
 */
export const weightShift: Validator = {
  name: RULE,
  kinds: WEIGHTED_ROUTE_KINDS,
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const current = routesUnderReview(object, ctx);
    if (!current.supported) return NO_FINDINGS;
    const edit = trafficUnderReview(object, ctx);
    if (!edit) return NO_FINDINGS;
    const identity = `${current.source.kind} ${current.source.namespace}/${current.source.name}`;
    const w: Wording = { identity, before: edit.before, after: edit.after };
    const notes: Note[] = [];
    const findings: Finding[] = [...integrity(object, edit, ctx, identity), ...unusable(w, edit)];
    const { judgement } = edit;
    if (!judgement.changed) return result(findings, notes, ctx);

    if (overrideFor(object, ctx, notes)) return result(findings, notes, ctx);
    // Trusted controllers, verified against the watch caches (controller-trust.ts).
    const verdict = controllerVerdict(object, ctx);
    for (const warning of verdict?.warnings ?? []) notes.push({ rule: RULE, warning });
    if (verdict?.decision === 'allow') {
      notes.push({ rule: RULE, pass: verdict.reason });
      return result(findings, notes, ctx);
    }
    const policy = ctx.policy.weightShift;
    // A verified Canary moves one canary: its step and peak bound the totals as well.
    const limits: Limits = verdict?.limits
      ? {
          ...policy,
          ...verdict.limits,
          maxTotalStepWeight: verdict.limits.maxStepWeight,
          maxTotalCanaryWeight: verdict.limits.maxCanaryWeight,
        }
      : policy;
    let beyondPolicy = false;

    const judged: Finding[] = [];
    let paced = false;
    for (const root of judgement.roots) {
      for (const n of root.narrowed) {
        notes.push({
          rule: RULE,
          warning: `${identity}: ${n.route.label} narrows ${w.after.names.get(n.from) ?? w.before?.names.get(n.from) ?? n.from} to ${w.after.names.get(n.to) ?? n.to}; which pods a subset selects depends on the cluster's workloads`,
        });
      }
      if (root.rollback) {
        notes.push({
          rule: RULE,
          pass: `rollback: all traffic of ${root.root.label} returns to its stable backend ${w.after.names.get(root.stable ?? '') ?? root.stable ?? ''}`,
        });
        continue;
      }
      if (root.moved) paced = true;
      // On CREATE only maxCanaryWeight applies: there is no old traffic to step from.
      if (edit.before) {
        const steps = root.rises.map((m) => stepFinding(w, root, m, limits));
        for (const f of steps) push(judged, f);
        // A root new to the object moves all its traffic from nothing: one reason is enough.
        const newRootRefused = !root.previous && steps.some((f) => f !== undefined);
        if (root.spread && !newRootRefused)
          push(judged, spreadFinding(w, root, root.spread, limits));
      }
      for (const m of root.peaks) push(judged, capFinding(w, root, m, limits));
      // Summed only under a cap on the sum (the default, 100%, is none).
      const crowd = limits.maxTotalCanaryWeight < 100 ? largestCrowd(root) : undefined;
      if (crowd) push(judged, crowdFinding(w, root, crowd, limits));
      if (verdict?.limits && edit.before)
        beyondPolicy ||=
          root.rises.some((m) => stepFinding(w, root, m, policy) !== undefined) ||
          (root.spread !== undefined && spreadFinding(w, root, root.spread, policy) !== undefined);
    }
    // A verified Canary paces itself (its analysis interval); everyone else keeps the policy's.
    if (paced && edit.before && !verdict?.limits) push(judged, intervalFinding(identity, ctx));
    if (judged.length === 0 && beyondPolicy && verdict)
      notes.push({ rule: RULE, pass: verdict.reason });
    if (judged.length === 0) {
      for (const root of judgement.roots.filter((r) => r.targetedMoved && !r.rollback))
        notes.push({
          rule: RULE,
          pass: `targeted traffic: only opt-in requests of ${root.root.label} (a header, cookie or query parameter match) changed route, which is not limited`,
        });
    }
    const because = verdict?.decision === 'judge' ? `\n(${verdict.reason})` : '';
    findings.push(...judged.map((f) => ({ ...f, message: `${f.message}${because}` })));
    return result(findings, notes, ctx);
  },
};

function push(list: Finding[], f: Finding | undefined): void {
  if (f) list.push(f);
}

function result(
  findings: readonly Finding[],
  notes: readonly Note[],
  ctx: RuleContext,
): ValidationResult {
  const enforcement = ctx.policy.weightShift.enforcement;
  return { violations: findings.map((f) => ({ ...f, enforcement })), notes };
}

/** New routes every request to which would fail, and routes of the new object it cannot read. */
function unusable(w: Wording, edit: TrafficEdit): Finding[] {
  const out: Finding[] = [];
  for (const route of edit.judgement.zeroRoutes) {
    out.push({
      rule: RULE,
      field: route.path,
      message: `${w.identity}: ${route.label} gives every backend weight 0, so every request it serves would fail: give at least one backend a weight above 0`,
      summary: `${route.label}: every weight is 0`,
    });
  }
  const oldUnread = new Set(
    edit.before?.routes.filter((r) => r.outcome.kind === 'unreadable').map((r) => r.key),
  );
  for (const route of edit.after.routes) {
    if (route.outcome.kind !== 'unreadable' || oldUnread.has(route.key)) continue;
    out.push({
      rule: RULE,
      field: route.path,
      message: `${w.identity}: ${route.label} cannot be read, so its traffic cannot be judged: ${route.outcome.reason}`,
      summary: `${route.label} cannot be read`,
    });
  }
  return out;
}

/**
 * The annotations /mutate keeps must be as /mutate would leave them: the stable backends as
 * recorded and carried, the weight-change stamp untouched unless traffic moved.
 */
function integrity(
  object: KubeObject,
  edit: TrafficEdit,
  ctx: RuleContext,
  identity: string,
): Finding[] {
  const out: Finding[] = [];
  const annotations = object.metadata?.annotations;
  const stable = annotations?.[STABLE_BACKENDS_ANNOTATION];
  const leftOut = stable === undefined && edit.stableDerivable;
  if (!leftOut && stable !== edit.expectedStable) {
    out.push({
      rule: RULE,
      field: `metadata.annotations.${STABLE_BACKENDS_ANNOTATION}`,
      message:
        `${identity}: ${STABLE_BACKENDS_ANNOTATION} is ${stable === undefined ? 'missing' : `"${stable}"`}, but meshwarden records ${edit.expectedStable === undefined ? 'none' : `"${edit.expectedStable}"`}: ` +
        `only meshwarden's mutating webhook writes it (the backend that last held all of a root's traffic); leave it as it is`,
      summary: `${STABLE_BACKENDS_ANNOTATION} was edited; leave it to meshwarden`,
    });
  }
  if (ctx.request.operation !== 'UPDATE') return out;
  const stamp = annotations?.[LAST_WEIGHT_CHANGE_ANNOTATION];
  if (stamp === undefined && edit.oldStamp === undefined) return out;
  const ok =
    edit.judgement.changed && edit.after.routes.length > 0
      ? stamp !== undefined && isRecent(stamp, ctx.now)
      : stamp === edit.oldStamp;
  if (!ok) {
    out.push({
      rule: RULE,
      field: `metadata.annotations.${LAST_WEIGHT_CHANGE_ANNOTATION}`,
      message:
        `${identity}: ${LAST_WEIGHT_CHANGE_ANNOTATION} is ${stamp === undefined ? 'missing' : `"${stamp}"`}, but ${edit.judgement.changed ? 'this edit moves traffic, so meshwarden stamps the current time' : `this edit moves no traffic, so it stays "${edit.oldStamp ?? ''}"`}: ` +
        `only meshwarden's mutating webhook writes it; leave it as it is`,
      summary: `${LAST_WEIGHT_CHANGE_ANNOTATION} was edited; leave it to meshwarden`,
    });
  }
  return out;
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

function intervalFinding(identity: string, ctx: RuleContext): Finding | undefined {
  const seconds = ctx.policy.weightShift.minStepIntervalSeconds;
  const oldObject = ctx.request.oldObject;
  if (seconds <= 0 || !oldObject) return undefined;
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
