import type { RuleSet } from '../admission/rule.js';
import { namespaceEnforceLabel } from './namespace-enforce-label.js';
import { policyConfigMap } from './policy-configmap.js';
import { sidecarInjectionMarker } from './sidecar-injection.js';
import { trafficSplitRule } from './traffic-split.js';
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
    mutators: [versionLabelDefault, sidecarInjectionMarker, weightChangeStamp],
    validators: [
      namespaceEnforceLabel,
      policyConfigMap,
      trafficSplitRule,
      versionLabels,
      weightShift,
    ],
  };
}
