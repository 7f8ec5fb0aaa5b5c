import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';

export interface ControllerVerdict {
  readonly controller: 'flagger' | 'argo-rollouts' | 'meshwarden';
  /** allow: the write passes the guard (with `reason` recorded); judge: judge it as anyone's, with `reason` appended to any denial. */
  readonly decision: 'allow' | 'judge';
  readonly reason: string;
  readonly warnings?: readonly string[];
  /** Flagger with a verified Canary: step limits from that Canary, instead of the policy's, for moves that are not to -primary. */
  readonly limits?: { readonly maxStepWeight: number; readonly maxCanaryWeight: number };
}

/** undefined: the request is not from a trusted controller account; judge normally. */
export function controllerVerdict(
  object: KubeObject,
  ctx: RuleContext,
): ControllerVerdict | undefined {
  void object;
  void ctx;
  return undefined;
}
