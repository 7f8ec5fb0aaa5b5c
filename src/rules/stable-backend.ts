import type { Mutator, RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { STABLE_BACKENDS_ANNOTATION } from '../k8s/keys.js';
import { WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';
import { ensureRecord, isRecord } from '../util/objects.js';
import { trafficEditForMutation } from './traffic-edit.js';

/**
 * Records each root's stable backend in `meshwarden.io/stable-backends` on every weighted route:
 * on CREATE its strict-majority backend; on UPDATE a backend that now holds all of a root's
 * untargeted traffic, else the one recorded before (or, for an object that never passed here,
 * its old majority). Whatever the request wrote there is replaced. Until the record says more
 * than the object's own majorities, it is not written. Idempotent: the value depends on the old
 * object and the weights only.
 */
export const stableBackends: Mutator = {
  name: 'stable-backends',
  kinds: WEIGHTED_ROUTE_KINDS,
  operations: ['CREATE', 'UPDATE'],
  mutate(draft: KubeObject, ctx: RuleContext) {
    const edit = trafficEditForMutation(draft, ctx);
    if (!edit) return;
    const present = draft.metadata?.annotations?.[STABLE_BACKENDS_ANNOTATION];
    // Nothing to record yet: the object's own majorities say the same.
    if (present === undefined && edit.stableDerivable) return;
    setAnnotation(draft, STABLE_BACKENDS_ANNOTATION, edit.expectedStable);
  },
};

/** Sets or removes one annotation, touching the draft only when the value differs. */
export function setAnnotation(draft: KubeObject, key: string, value: string | undefined): void {
  const current = draft.metadata?.annotations?.[key];
  if (current === value) return;
  if (value === undefined) {
    const annotations = draft.metadata?.annotations;
    if (isRecord(annotations)) delete annotations[key];
    return;
  }
  const metadata = ensureRecord(draft, 'metadata');
  ensureRecord(metadata, 'annotations')[key] = value;
}
