/** The weight-shift guard's words: what moved, where, from what to what, and the way forward. */
import type { Violation } from '../admission/rule.js';
import { ALLOW_WEIGHT_JUMP_ANNOTATION } from '../k8s/keys.js';
import type { Crowd, Movement, RootVerdict, Spread } from '../traffic/flow/judge.js';
import type { FlowObject, FlowRoute } from '../traffic/flow/model.js';
import {
  compare,
  formatPercent,
  percentShare,
  rational,
  subtract,
  percentagePoints,
  type Rational,
} from '../traffic/rational.js';
import { percentNumber } from '../traffic/weight-diff.js';

export const RULE = 'weight-shift';
export type Finding = Omit<Violation, 'enforcement'>;

export interface Limits {
  readonly maxStepWeight: number;
  readonly maxTotalStepWeight: number;
  readonly maxCanaryWeight: number;
  readonly maxTotalCanaryWeight: number;
  readonly overrideGroups: readonly string[];
}

export interface Wording {
  readonly identity: string;
  readonly before: FlowObject | undefined;
  readonly after: FlowObject;
}

export function formatPoints(p: Rational): string {
  return formatPercent(rational(p.num, p.den * 100n)).replace(/%$/, '');
}

/** `30%, 50%, 60%`: the intermediate shares that reach `to` from `from` within the step. */
export function stepsThrough(from: number, to: number, step: number): string {
  const out: number[] = [];
  for (let next = from + step; next < to && out.length < 8 && step > 0; next += step)
    out.push(next);
  out.push(to);
  return out.map((n) => `${Math.round(n * 10) / 10}%`).join(', ');
}

function nameOf(w: Wording, id: string | undefined): string {
  if (id === undefined) return 'none recorded';
  return w.after.names.get(id) ?? w.before?.names.get(id) ?? id;
}

function sameRoute(w: Wording, m: Movement): boolean {
  return (
    m.oldRoute !== undefined &&
    m.newRoute !== undefined &&
    m.oldRoute.key === m.newRoute.key &&
    (w.before?.routes.some((r) => r.key === m.newRoute?.key) ?? false)
  );
}

function was(route: FlowRoute | undefined): string {
  if (!route) return '';
  if (route.outcome.kind === 'unreadable')
    return ` (the old object's ${route.label} could not be read, so it counts as sending nothing: ${route.outcome.reason})`;
  if (route.outcome.kind === 'zero') return ` (the old ${route.label} had every weight at 0)`;
  return '';
}

/** What moved, in one clause: `route 0: reviews-v2 would rise from 10% to 60% (+50 points)`. */
export function describeMove(w: Wording, verdict: RootVerdict, m: Movement): string {
  const name = nameOf(w, m.backend);
  const from = formatPercent(m.before);
  const to = formatPercent(m.after);
  const rise = formatPoints(percentagePoints(subtract(m.after, m.before)));
  const routeLabel = m.newRoute?.label ?? 'no route';
  const several = w.after.roots.length > 1;
  const traffic = `${m.probe.label === '' ? '' : `${m.probe.label} for `}${verdict.root.label}`;
  const unsure = m.uncertain
    ? ' (the least favourable reading: some match conditions cannot be evaluated here)'
    : '';
  if (w.before && !verdict.previous) {
    return `${verdict.root.label} is new to this object, so its traffic counts as moving from nothing: ${routeLabel} sends ${to} of ${traffic} to ${name} (+${rise} points)${unsure}`;
  }
  if (w.before && sameRoute(w, m)) {
    const scope = [m.probe.label, several ? `of ${verdict.root.label}` : '']
      .filter((s) => s !== '')
      .join(' ');
    return `${routeLabel}${scope === '' ? '' : ` (${scope})`}: ${name} would rise from ${from} to ${to} (+${rise} points)${was(m.oldRoute)}${unsure}`;
  }
  const stable = w.before ? ` (stable: ${nameOf(w, verdict.stable)})` : '';
  const isNew = !(w.before?.routes.some((r) => r.key === m.newRoute?.key) ?? false);
  const head = isNew
    ? `${routeLabel} is new and sends`
    : `${routeLabel} now serves ${traffic}${m.oldRoute ? ` (before: ${m.oldRoute.label})` : ''} and sends`;
  return `${head} ${to} of ${isNew ? traffic : 'it'} to ${name}, which had ${from}${stable} (+${rise} points)${was(m.oldRoute)}${unsure}`;
}

function override(limits: Limits): string {
  return `annotate ${ALLOW_WEIGHT_JUMP_ANNOTATION} with a reason (allowed for ${limits.overrideGroups.join(', ') || 'nobody'})`;
}

export function stepFinding(
  w: Wording,
  verdict: RootVerdict,
  m: Movement,
  limits: Limits,
): Finding | undefined {
  const max = limits.maxStepWeight;
  const rise = percentagePoints(subtract(m.after, m.before));
  if (compare(subtract(m.after, m.before), percentShare(max)) <= 0) return undefined;
  const steps = stepsThrough(percentNumber(m.before), percentNumber(m.after), max);
  const name = nameOf(w, m.backend);
  return {
    rule: RULE,
    field: m.newRoute?.path ?? 'spec',
    message: `${w.identity}: ${describeMove(w, verdict, m)}; the policy allows +${max} per update: step through ${steps}, or ${override(limits)}`,
    summary: `${m.newRoute?.label ?? verdict.root.label}: ${name} ${formatPercent(m.before)}→${formatPercent(m.after)} (+${formatPoints(rise)} points) exceeds maxStepWeight ${max}`,
  };
}

/**
 * Several backends other than the stable one rising together by more than `maxTotalStepWeight`:
 * `route 0: 5 backends other than the stable one would together gain +50 points of reviews (…)`.
 */
export function spreadFinding(
  w: Wording,
  verdict: RootVerdict,
  spread: Spread,
  limits: Limits,
): Finding | undefined {
  const max = limits.maxTotalStepWeight;
  const total = percentagePoints(spread.total);
  if (compare(spread.total, percentShare(max)) <= 0) return undefined;
  const first = spread.moves[0];
  const where = first?.newRoute?.label ?? verdict.root.label;
  const parts = spread.moves
    .map(
      (m) =>
        `${nameOf(w, m.backend)} ${formatPercent(m.before)}→${formatPercent(m.after)} (+${formatPoints(percentagePoints(subtract(m.after, m.before)))})`,
    )
    .join(', ');
  const traffic = `${spread.probe.label === '' ? '' : `${spread.probe.label} for `}${verdict.root.label}`;
  const from =
    w.before && !verdict.previous
      ? `${verdict.root.label} is new to this object, so its traffic counts as moving from nothing`
      : `stable: ${nameOf(w, verdict.stable)}`;
  const unsure = first?.uncertain
    ? ' (the least favourable reading: some match conditions cannot be evaluated here)'
    : '';
  return {
    rule: RULE,
    field: first?.newRoute?.path ?? 'spec',
    message:
      `${w.identity}: ${where}: ${spread.moves.length} backends other than the stable one would together gain +${formatPoints(total)} points of ${traffic} (${from}): ${parts}${unsure}; ` +
      `the policy allows +${max} per update for all of them together (maxTotalStepWeight): move at most ${max} points per update, or ${override(limits)}`,
    summary: `${where}: ${spread.moves.length} backends other than the stable one gain +${formatPoints(total)} points together, exceeds maxTotalStepWeight ${max}`,
  };
}

export function capFinding(
  w: Wording,
  verdict: RootVerdict,
  m: Movement,
  limits: Limits,
): Finding | undefined {
  const cap = limits.maxCanaryWeight;
  if (cap >= 100 || compare(m.after, percentShare(cap)) <= 0) return undefined;
  const to = formatPercent(m.after);
  const name = nameOf(w, m.backend);
  const where = m.newRoute?.label ?? verdict.root.label;
  return {
    rule: RULE,
    field: m.newRoute?.path ?? 'spec',
    message:
      `${w.identity}: ${where}: ${name} would reach ${to}, above maxCanaryWeight ${cap}% for a backend other than the stable one (${nameOf(w, verdict.stable)}); ` +
      `keep it at ${cap}% or less, or ${override(limits)}`,
    summary: `${where}: ${name} would reach ${to}, above maxCanaryWeight ${cap}%`,
  };
}

/**
 * Backends other than the stable one holding more than `maxTotalCanaryWeight` together:
 * `route 0: 2 backends other than the stable one would together hold 80% of reviews (…)`.
 */
export function crowdFinding(
  w: Wording,
  verdict: RootVerdict,
  crowd: Crowd,
  limits: Limits,
): Finding | undefined {
  const cap = limits.maxTotalCanaryWeight;
  if (cap >= 100 || compare(crowd.total, percentShare(cap)) <= 0) return undefined;
  const where = crowd.newRoute?.label ?? verdict.root.label;
  const parts = crowd.holders
    .map((h) => `${nameOf(w, h.backend)} ${formatPercent(h.share)}`)
    .join(', ');
  const traffic = `${crowd.probe.label === '' ? '' : `${crowd.probe.label} for `}${verdict.root.label}`;
  const total = formatPercent(crowd.total);
  return {
    rule: RULE,
    field: crowd.newRoute?.path ?? 'spec',
    message:
      `${w.identity}: ${where}: ${crowd.holders.length} backends other than the stable one (${nameOf(w, verdict.stable)}) would together hold ${total} of ${traffic}: ${parts}; ` +
      `the policy allows at most ${cap}% for all of them together (maxTotalCanaryWeight): keep the stable backend at ${100 - cap}% or more, or ${override(limits)}`,
    summary: `${where}: ${crowd.holders.length} backends other than the stable one would hold ${total} together, above maxTotalCanaryWeight ${cap}%`,
  };
}
