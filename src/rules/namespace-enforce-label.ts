import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
} from '../admission/rule.js';
import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import type { KubeObject } from '../k8s/objects.js';
import { asRecord } from '../util/objects.js';

const RULE = 'namespace-enforce-label';

/**
 * Only users in the cluster policy's `weightShift.overrideGroups` may set, change or remove the
 * namespace label `meshwarden.io/enforce` (CONTRACT §5): whoever may label a namespace could
 * otherwise turn every guard off for it. The cluster policy is read, not the namespace's own
 * override, so a namespace cannot drop the administrators' group from the list that guards it.
 * Always enforced, like the policy ConfigMaps: the label decides where the policy applies.
 * Annotations are not guarded: nothing in meshwarden reads an annotation of that name.
 */
export const namespaceEnforceLabel: Validator = {
  name: RULE,
  kinds: [{ group: '', kind: 'Namespace', versions: ['v1'] }],
  operations: ['CREATE', 'UPDATE'],
  // `status` and `finalize` accept label changes too (their strategies reset only spec/status).
  subResources: ['status', 'finalize'],
  // A namespace labelled `disabled` is excluded by that very label; removing it must be judged.
  ignoresExclusions: true,
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const { request } = ctx;
    const before =
      request.operation === 'UPDATE' ? labelOf(request.oldObject) : { present: false as const };
    const after = labelOf(object);
    if (before.present === after.present && before.value === after.value) return NO_FINDINGS;

    const name = bounded(
      String(object.metadata?.name ?? request.name ?? request.oldObject?.metadata?.name ?? ''),
    );
    const allowed = ctx.clusterPolicy.weightShift.overrideGroups;
    const user = bounded(request.userInfo.username ?? 'an unknown user');
    const groups = request.userInfo.groups ?? [];
    const change = describeChange(before, after);
    const member = groups.find((g) => allowed.includes(g));
    if (member !== undefined) {
      return {
        violations: [],
        notes: [
          {
            rule: RULE,
            audit: `Namespace ${name}: ${NAMESPACE_ENFORCE_LABEL} ${change} by ${user} (group ${member})`,
          },
        ],
      };
    }
    const fix = before.present
      ? `apply the Namespace with ${NAMESPACE_ENFORCE_LABEL}: ${show(before.value)} unchanged`
      : `apply the Namespace without ${NAMESPACE_ENFORCE_LABEL}`;
    const groupList = bounded(allowed.join(', '));
    const rule =
      allowed.length > 0
        ? `only members of ${groupList} (the cluster policy's weightShift.overrideGroups) may set, change or remove it, and ${user} is not one. ` +
          `To proceed, ${fix}, or ask a member of ${groupList} to make this change`
        : `nobody may set, change or remove it: the cluster policy's weightShift.overrideGroups is empty. ` +
          `To proceed, ${fix}, or add a group to weightShift.overrideGroups in the cluster policy`;
    return {
      violations: [
        {
          rule: RULE,
          field: `metadata.labels.${NAMESPACE_ENFORCE_LABEL}`,
          enforcement: 'enforce',
          message: `Namespace ${name}: the label ${NAMESPACE_ENFORCE_LABEL} ${change}; ${rule}`,
          summary: `${NAMESPACE_ENFORCE_LABEL} ${change}: only overrideGroups may change it`,
        },
      ],
    };
  },
};

type LabelState = { present: false; value?: undefined } | { present: true; value: unknown };

function labelOf(object: KubeObject | null): LabelState {
  const labels = asRecord(object?.metadata?.labels);
  if (labels === undefined || !Object.hasOwn(labels, NAMESPACE_ENFORCE_LABEL))
    return { present: false };
  return { present: true, value: labels[NAMESPACE_ENFORCE_LABEL] };
}

function describeChange(before: LabelState, after: LabelState): string {
  if (!before.present) return `would be set to ${show(after.value)} (it was absent)`;
  if (!after.present) return `would be removed (it was ${show(before.value)})`;
  return `would change from ${show(before.value)} to ${show(after.value)}`;
}

/** A label value as the user wrote it, quoted; bounded, since it comes from the request. */
function show(value: unknown): string {
  return bounded(JSON.stringify(value) ?? String(value));
}

function bounded(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
