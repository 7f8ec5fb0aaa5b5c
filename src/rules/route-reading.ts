import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { readWeightedRoutes, type RouteReadResult } from '../mesh/routes.js';

/**
 * The weighted routes of an object under review, read once per review however many validators
 * ask (the TrafficSplit validator and the weight-shift guard read the same object). Objects
 * without a namespace take the request's.
 */
export function routesUnderReview(object: KubeObject, ctx: RuleContext): RouteReadResult {
  return ctx.memo(object, 'weighted-routes', () =>
    readWeightedRoutes(
      object,
      ctx.request.namespace === undefined ? {} : { namespace: ctx.request.namespace },
    ),
  );
}
