import type { RuleContext, ValidationResult, Validator } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import type { LocatedError } from '../traffic/model.js';
import { TRAFFIC_SPLIT_GROUP, TRAFFIC_SPLIT_VERSIONS } from '../traffic/smi/api.js';
import { routesUnderReview } from './route-reading.js';

const RULE = 'traffic-split';

/**
 * Refuses TrafficSplits that no mesh could route: weights that are not non-negative whole numbers
 * (quantities in v1alpha1), a total of zero, a backend listed twice or living in another
 * namespace, and `spec.matches` in a version that has none. These are structural errors, not
 * policy choices, so they are always enforced, whatever the policy's enforcement mode.
 */
export const trafficSplitRule: Validator = {
  name: RULE,
  kinds: [{ group: TRAFFIC_SPLIT_GROUP, kind: 'TrafficSplit', versions: TRAFFIC_SPLIT_VERSIONS }],
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const namespace = ctx.request.namespace ?? object.metadata?.namespace;
    const read = routesUnderReview(object, ctx);
    const errors: readonly LocatedError[] = read.supported
      ? read.errors
      : [{ path: 'apiVersion', message: read.reason }];
    const name = `TrafficSplit ${namespace === undefined ? '' : `${namespace}/`}${object.metadata?.name ?? ctx.request.name ?? ''}`;
    return {
      violations: errors.map((e) => ({
        rule: RULE,
        field: e.path,
        enforcement: 'enforce',
        message: `${name}: ${e.path}: ${e.message}`,
      })),
    };
  },
};
