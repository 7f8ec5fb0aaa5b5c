import type { Mutator, RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';
import { LAST_WEIGHT_CHANGE_ANNOTATION } from '../k8s/keys.js';
import { setAnnotation } from './stable-backend.js';
import { trafficEditForMutation } from './traffic-edit.js';

/** A stamp this recent, differing from the stored one, was written by this request: keep it. */
export const OWN_STAMP_WINDOW_MS = 30_000;

/**
 * Stamps `meshwarden.io/last-weight-change` with the current time on every route object whose
 * traffic changes, so the weight-shift guard can enforce `minStepIntervalSeconds` from the stored
 * object; an edit that moves no traffic keeps the stored stamp (a stamp written or removed by the
 * request is put back). Idempotent under reinvocation: a stamp this request already wrote is kept.
 */
export const weightChangeStamp: Mutator = {
  name: 'weight-change-stamp',
  kinds: WEIGHTED_ROUTE_KINDS,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft: KubeObject, ctx: RuleContext) {
    const edit = trafficEditForMutation(draft, ctx);
    if (!edit) return;
    const stored = edit.oldStamp;
    if (!edit.judgement.changed || edit.after.routes.length === 0) {
      if (ctx.request.operation === 'UPDATE')
        setAnnotation(draft, LAST_WEIGHT_CHANGE_ANNOTATION, stored);
      return;
    }
    const present = draft.metadata?.annotations?.[LAST_WEIGHT_CHANGE_ANNOTATION];
    if (present !== undefined && present !== stored && isRecent(present, ctx.now)) return;
    setAnnotation(draft, LAST_WEIGHT_CHANGE_ANNOTATION, formatStamp(ctx.now));
  },
};

export function formatStamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isRecent(stamp: string, now: Date): boolean {
  const t = Date.parse(stamp);
  return !Number.isNaN(t) && Math.abs(now.getTime() - t) <= OWN_STAMP_WINDOW_MS;
}
