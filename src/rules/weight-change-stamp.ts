import type { Mutator, RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { readWeightedRoutes, WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';
import { sharesChanged } from '../traffic/compare.js';
import { ensureRecord } from '../util/objects.js';
import { LAST_WEIGHT_CHANGE_ANNOTATION } from '../k8s/keys.js';

/** A stamp this recent, differing from the stored one, was written by this request: keep it. */
const OWN_STAMP_WINDOW_MS = 30_000;

/**
 * Stamps `meshwarden.io/last-weight-change` with the current time on every route object whose
 * weights change, so the weight-shift guard can enforce `minStepIntervalSeconds` from the stored
 * object. Idempotent under reinvocation: a stamp this request already wrote is kept.
 */
export const weightChangeStamp: Mutator = {
  name: 'weight-change-stamp',
  kinds: WEIGHTED_ROUTE_KINDS,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft: KubeObject, ctx: RuleContext) {
    const { request } = ctx;
    const options = request.namespace === undefined ? {} : { namespace: request.namespace };
    const current = readWeightedRoutes(draft, options);
    if (!current.supported || current.splits.length === 0) return;
    if (request.operation === 'UPDATE' && request.oldObject) {
      const previous = readWeightedRoutes(request.oldObject, options);
      if (previous.supported && !sharesChanged(previous.splits, current.splits)) return;
    }
    const stored = request.oldObject?.metadata?.annotations?.[LAST_WEIGHT_CHANGE_ANNOTATION];
    const present = draft.metadata?.annotations?.[LAST_WEIGHT_CHANGE_ANNOTATION];
    if (present !== undefined && present !== stored && isRecent(present, ctx.now)) return;
    const metadata = ensureRecord(draft, 'metadata');
    const annotations = ensureRecord(metadata, 'annotations');
    annotations[LAST_WEIGHT_CHANGE_ANNOTATION] = ctx.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  },
};

function isRecent(stamp: string, now: Date): boolean {
  const t = Date.parse(stamp);
  return !Number.isNaN(t) && Math.abs(now.getTime() - t) <= OWN_STAMP_WINDOW_MS;
}
