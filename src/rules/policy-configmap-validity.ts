import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
} from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { formatPolicyErrors, policyFromConfigMapData } from '../policy/load.js';
import { looseningErrors } from '../policy/merge.js';
import { POLICY_CONFIGMAP_KEY, POLICY_CONFIGMAP_NAME, type PolicyError } from '../policy/types.js';
import { asRecord } from '../util/objects.js';

const RULE = 'policy-configmap';

/**
 * Refuses a `meshwarden-policy` ConfigMap that would not load, with the same messages as
 * `meshwarden policy check`. In a workload namespace it also refuses overrides that loosen the
 * cluster policy under `namespaceOverrides: tighten-only`. Always enforced: a policy cannot vouch
 * for itself, and an invalid one would never be applied anyway.
 */
export const policyConfigMapRule: Validator = {
  name: RULE,
  kinds: [{ group: '', kind: 'ConfigMap', versions: ['v1'] }],
  operations: ['CREATE', 'UPDATE'],
  ignoresExclusions: true,
  skipReason: (ctx) =>
    ctx.request.object?.metadata?.name === POLICY_CONFIGMAP_NAME
      ? undefined
      : `not a policy ConfigMap: only ConfigMaps named ${POLICY_CONFIGMAP_NAME} are checked`,
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    if (object.metadata?.name !== POLICY_CONFIGMAP_NAME) return NO_FINDINGS;
    const namespace = ctx.request.namespace ?? object.metadata.namespace;
    const isClusterPolicy = namespace === ctx.installNamespace;
    const data = asRecord(object.data);
    const text = data?.[POLICY_CONFIGMAP_KEY];
    const where = `ConfigMap ${namespace ?? ''}/${POLICY_CONFIGMAP_NAME}`;
    if (typeof text !== 'string') {
      return deny(`${where} holds no policy`, [
        {
          key: `data.${POLICY_CONFIGMAP_KEY}`,
          message: 'is missing: put the MeshPolicy YAML under this key',
        },
      ]);
    }
    const parsed = policyFromConfigMapData(text);
    if (!parsed.ok)
      return deny(
        `${where} holds an invalid policy; the last valid policy stays in force`,
        parsed.errors,
      );
    if (!isClusterPolicy && ctx.clusterPolicy.namespaceOverrides === 'tighten-only') {
      const loosening = looseningErrors(ctx.clusterPolicy, parsed.policy.input).map((e) => ({
        ...e,
        key: `data.${POLICY_CONFIGMAP_KEY}: ${e.key}`,
      }));
      if (loosening.length > 0) {
        return deny(
          `${where} would loosen the cluster policy, and namespaceOverrides is tighten-only; it is not applied`,
          loosening,
        );
      }
    }
    return NO_FINDINGS;
  },
};

function deny(headline: string, errors: readonly PolicyError[]): ValidationResult {
  return {
    violations: [
      {
        rule: RULE,
        field: errors[0]?.key ?? `data.${POLICY_CONFIGMAP_KEY}`,
        enforcement: 'enforce',
        message: `${headline}. Fix:\n${formatPolicyErrors(errors)}`,
      },
    ],
  };
}
