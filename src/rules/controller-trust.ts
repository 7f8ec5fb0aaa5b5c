import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { isRecord } from '../util/objects.js';
import { howToTrust, serviceAccountOf, trustedAs, type ControllerVerdict } from './trust-common.js';
import { argoVerdict } from './trust-argo.js';
import { flaggerRouteVerdict } from './trust-flagger.js';
import { meshwardenVerdict, ownedByTrafficSplit } from './trust-meshwarden.js';

export type { ControllerVerdict } from './trust-common.js';

/**
 * Is this route write a trusted controller's, verified against the watch caches?
 *
 * - undefined: nothing about the request points at a controller; judge normally.
 * - `judge` with a reason: the request claims a controller (its account's name, a Canary or
 *   Rollout ownerReference, meshwarden's label) but the claim does not hold, or the write is not
 *   one the controller makes; the reason says which check failed and, for an account that is not
 *   trusted, how to trust it.
 * - `allow`: the account is trusted and the write is one its controller makes.
 *
 * Trust needs both: the exact account (policy `weightShift.trustedControllers`, or serve's
 * `--controller-service-account` for meshwarden's own controller) and the object the controller
 * acts for, in the cache (a Canary with the same uid, a Rollout naming the route, the TrafficSplit
 * the route was translated from).
 */
export function controllerVerdict(
  object: KubeObject,
  ctx: RuleContext,
): ControllerVerdict | undefined {
  const account = serviceAccountOf(ctx.request.userInfo.username);
  const own = ctx.cluster.controllerServiceAccount();
  if (account !== undefined && own !== undefined && account === own)
    return meshwardenVerdict(object, ctx, account);
  const trusted = trustedAs(account, ctx.policy.weightShift.trustedControllers);
  if (trusted === 'flagger') return flaggerRouteVerdict(object, ctx, account ?? '');
  if (trusted === 'argo-rollouts') return argoVerdict(object, ctx, account ?? '');
  return untrustedClaim(object, ctx, account);
}

/**
 * A request that looks like a controller's but is not from a trusted account: a ServiceAccount
 * named like one in another namespace, or an object whose ownerReferences name a Canary,
 * Rollout or TrafficSplit. Judged like anyone's; the reason says why the claim was not believed.
 */
function untrustedClaim(
  object: KubeObject,
  ctx: RuleContext,
  account: string | undefined,
): ControllerVerdict | undefined {
  const user = ctx.request.userInfo.username ?? 'an unknown user';
  const accountName = account?.split('/')[1];
  const owners = ownerKinds(object);
  if (accountName === 'flagger' || owners.has('flagger.app/Canary')) {
    return {
      controller: 'flagger',
      decision: 'judge',
      reason: `not trusted as Flagger: ${account === undefined ? user : `ServiceAccount ${account}`} is not a trusted Flagger account (${howToTrust('flagger', account, ctx)})`,
    };
  }
  if (accountName === 'argo-rollouts' || owners.has('argoproj.io/Rollout')) {
    return {
      controller: 'argo-rollouts',
      decision: 'judge',
      reason: `not trusted as Argo Rollouts: ${account === undefined ? user : `ServiceAccount ${account}`} is not a trusted Argo Rollouts account (${howToTrust('argo-rollouts', account, ctx)})`,
    };
  }
  if (ownedByTrafficSplit(object) !== undefined) {
    const own = ctx.cluster.controllerServiceAccount();
    return {
      controller: 'meshwarden',
      decision: 'judge',
      reason:
        own === undefined
          ? `not trusted as meshwarden's controller: no controller ServiceAccount is configured (serve --controller-service-account)`
          : `not trusted as meshwarden's controller: the request is from ${user}, not ServiceAccount ${own}`,
    };
  }
  return undefined;
}

/** `group/Kind` of every ownerReference. */
function ownerKinds(object: KubeObject): Set<string> {
  const kinds = new Set<string>();
  const refs: unknown = object.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return kinds;
  for (const ref of refs) {
    if (!isRecord(ref) || typeof ref.apiVersion !== 'string' || typeof ref.kind !== 'string')
      continue;
    kinds.add(`${ref.apiVersion.split('/')[0] ?? ''}/${ref.kind}`);
  }
  return kinds;
}
