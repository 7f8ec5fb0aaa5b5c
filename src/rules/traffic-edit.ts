/**
 * What an admission request does to the traffic of a weighted-route object, computed the same way
 * for /mutate (on the draft) and /validate (on the object received, which /mutate produced), so
 * the annotations the mutator writes are exactly the ones the validator expects.
 */
import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { LAST_WEIGHT_CHANGE_ANNOTATION, STABLE_BACKENDS_ANNOTATION } from '../k8s/keys.js';
import { FlowMemo } from '../traffic/flow/memo.js';
import { judgeTraffic, type Judgement } from '../traffic/flow/judge.js';
import type { FlowObject } from '../traffic/flow/model.js';
import { formatStable, parseStable, stableAfter, stableBefore } from '../traffic/flow/stable.js';
import { ROUTE_KINDS } from '../mesh/registry.js';
import { readWeightedRoutes, type RouteReadResult } from '../mesh/routes.js';
import { routesUnderReview } from './route-reading.js';

/** An old object meshwarden cannot read at all: every root of the new one is new. */
const UNREAD: FlowObject = {
  roots: [],
  routes: [],
  precedence: 'first-match',
  names: new Map(),
  errors: [],
};

export interface TrafficEdit {
  /** Undefined on CREATE. */
  readonly before: FlowObject | undefined;
  readonly after: FlowObject;
  /** Each old root's stable backend, from the old object only. */
  readonly stable: ReadonlyMap<string, string>;
  readonly judgement: Judgement;
  /** The `meshwarden.io/stable-backends` value that records the stable backends after the edit. */
  readonly expectedStable: string | undefined;
  /**
   * The annotation can be left out: the old object had none and the new object's own majorities
   * give the same stable backends (always so on CREATE), so nothing would be lost.
   */
  readonly stableDerivable: boolean;
  /** The old object's annotations meshwarden keeps. */
  readonly oldStable: string | undefined;
  readonly oldStamp: string | undefined;
}

export function flowOf(object: KubeObject, namespace: string | undefined): FlowObject | undefined {
  return flowFrom(object, readWeightedRoutes(object, namespace === undefined ? {} : { namespace }));
}

function flowFrom(object: KubeObject, read: RouteReadResult): FlowObject | undefined {
  if (!read.supported) return undefined;
  const kind = ROUTE_KINDS.find((k) => k.id === read.kind);
  return kind?.flow(object, read.splits, read.errors, read.source.namespace);
}

/** Undefined when the object is not a weighted route meshwarden reads. */
export function trafficEdit(object: KubeObject, ctx: RuleContext): TrafficEdit | undefined {
  const { request } = ctx;
  // The routes as the other rules of this review read them (read once per object).
  const after = flowFrom(object, routesUnderReview(object, ctx));
  if (!after) return undefined;
  const old = request.operation === 'UPDATE' ? (request.oldObject ?? undefined) : undefined;
  const before = old ? (flowFrom(old, routesUnderReview(old, ctx)) ?? UNREAD) : undefined;
  const oldAnnotations = old?.metadata?.annotations;
  const oldStable = oldAnnotations?.[STABLE_BACKENDS_ANNOTATION];
  const memo = new FlowMemo();
  const stable = before
    ? stableBefore(before, parseStable(oldStable), memo)
    : new Map<string, string>();
  const recorded = stableAfter(before, stable, after, memo);
  return {
    before,
    after,
    stable,
    judgement: judgeTraffic(before, after, stable, memo),
    expectedStable: formatStable(recorded),
    // The same map gives the same text: compared as maps, without writing the second.
    stableDerivable:
      oldStable === undefined && sameEntries(recorded, stableBefore(after, undefined, memo)),
    oldStable,
    oldStamp: oldAnnotations?.[LAST_WEIGHT_CHANGE_ANNOTATION],
  };
}

function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** The same, read once per review for the object under validation. */
export function trafficUnderReview(object: KubeObject, ctx: RuleContext): TrafficEdit | undefined {
  return ctx.memo(object, 'traffic-edit', () => trafficEdit(object, ctx));
}

/**
 * The same for the mutators of one /mutate pass: they change annotations only, never traffic, so
 * the edit is read once from the draft (keyed on the request's object, which no rule changes).
 */
export function trafficEditForMutation(
  draft: KubeObject,
  ctx: RuleContext,
): TrafficEdit | undefined {
  const original = ctx.request.object;
  if (!original) return trafficEdit(draft, ctx);
  return ctx.memo(original, 'traffic-edit-draft', () => trafficEdit(draft, ctx));
}
