import type { RuleContext } from '../admission/rule.js';
import type { TrustedController, TrustedControllerKind } from '../policy/types.js';

/** What `controllerVerdict` (controller-trust.ts) says about one route write. */
export interface ControllerVerdict {
  readonly controller: 'flagger' | 'argo-rollouts' | 'meshwarden';
  /** allow: the write passes the guard (with `reason` recorded); judge: judge it as anyone's, with `reason` appended to any denial. */
  readonly decision: 'allow' | 'judge';
  readonly reason: string;
  readonly warnings?: readonly string[];
  /** Flagger with a verified Canary: step limits from that Canary, instead of the policy's, for moves that are not to -primary. */
  readonly limits?: { readonly maxStepWeight: number; readonly maxCanaryWeight: number };
}

/** `namespace/name` of a ServiceAccount username `system:serviceaccount:<ns>:<name>`. */
export function serviceAccountOf(username: string | undefined): string | undefined {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username ?? '');
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** The kind the account is trusted as, when it is listed exactly. */
export function trustedAs(
  account: string | undefined,
  trusted: readonly TrustedController[],
): TrustedControllerKind | undefined {
  if (account === undefined) return undefined;
  return trusted.find((t) => t.serviceAccount === account)?.kind;
}

/** `trusted controller flagger istio-system/flagger`: how reasons name the writer. */
export function describeController(kind: ControllerVerdict['controller'], account: string): string {
  return `trusted controller ${kind} ${account}`;
}

/** How to trust an account, for denials of writes that claim a controller. */
export function howToTrust(
  kind: TrustedControllerKind,
  account: string | undefined,
  ctx: RuleContext,
): string {
  if (account === undefined)
    return `only ${kind}'s own ServiceAccount, listed in spec.weightShift.trustedControllers, is trusted`;
  return (
    `to trust it, add {kind: ${kind}, serviceAccount: ${account}} to spec.weightShift.trustedControllers ` +
    `in the cluster policy (ConfigMap meshwarden-policy in ${ctx.installNamespace})`
  );
}
