import type { RuleSet } from '../admission/rule.js';
import { canaryBounds } from './canary-bounds.js';
import { SKIPPED_POD_KINDS } from './pod-template.js';
import { policyConfigMapRule } from './policy-configmap-validity.js';
import { namespaceEnforceLabel } from './namespace-enforce-label.js';
import { rolloutBounds } from './rollout-bounds.js';
import { sidecarInjectionMarker } from './sidecar-injection.js';
import { stableBackends } from './stable-backend.js';
import { trafficSplitRule } from './traffic-split-validity.js';
import { versionLabelDefault } from './version-label-default.js';
import { versionLabels } from './version-labels.js';
import { weightChangeStamp } from './weight-change-stamp.js';
import { weightShift } from './weight-shift.js';

/**
 * Every rule meshwarden runs, in order. Mutators run on /mutate, validators on /validate;
 * on /validate the first rule that denies decides.
 */
export function defaultRules(): RuleSet {
  return {
    mutators: [versionLabelDefault, sidecarInjectionMarker, stableBackends, weightChangeStamp],
    validators: [
      namespaceEnforceLabel,
      policyConfigMapRule,
      trafficSplitRule,
      versionLabels,
      weightShift,
      canaryBounds,
      rolloutBounds,
    ],
    skippedKinds: SKIPPED_POD_KINDS,
  };
}
