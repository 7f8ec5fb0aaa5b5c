import type { RuleContext } from '../admission/rule.js';
import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import { controlPlaneOwner, meshOptIn } from '../mesh/namespaces.js';

/**
 * Where the workload rules (injection marker, version labels) apply, per `workloadScope`:
 * - `enforce`: the rules act as the policy says (patch, deny, warn);
 * - `audit`: they only record what they would have done: no patch, no denial, no warning.
 * Mesh control-plane namespaces and meshwarden's own namespace are skipped (`workloadSkipReason`).
 */
export type WorkloadScopeMode =
  { readonly mode: 'enforce' } | { readonly mode: 'audit'; readonly reason: string };

const ENFORCE: WorkloadScopeMode = { mode: 'enforce' };

/**
 * Why the workload rules leave this namespace alone whatever the scope, or undefined: a marker or
 * a refusal there could break the mesh, or meshwarden itself.
 */
export function workloadSkipReason(ctx: RuleContext): string | undefined {
  const ns = ctx.request.namespace;
  if (ns === undefined) return undefined;
  if (ns === ctx.installNamespace) return `namespace ${ns} is meshwarden's own`;
  const owner = controlPlaneOwner(ns);
  return owner === undefined
    ? undefined
    : `namespace ${ns} holds the ${owner.displayName} control plane`;
}

/** Whether the workload rules enforce or only audit in the review's namespace. */
export function workloadScope(ctx: RuleContext): WorkloadScopeMode {
  const ns = ctx.request.namespace;
  if (ns === undefined || ctx.policy.workloadScope === 'all') return ENFORCE;
  const labels = ctx.namespaceLabels;
  // Offline, a namespace nobody described is one the user asked about by giving its files.
  if (labels === undefined && (ctx.cluster.unknownNamespaces ?? 'in-scope') === 'in-scope')
    return ENFORCE;
  if (labels?.[NAMESPACE_ENFORCE_LABEL] === 'enabled') return ENFORCE;
  if (meshOptIn(labels, ctx.cluster.namespaceAnnotations?.(ns)) !== undefined) return ENFORCE;
  return {
    mode: 'audit',
    reason: `namespace ${ns} takes part in no mesh (no injection label such as istio-injection=enabled, nor ${NAMESPACE_ENFORCE_LABEL}=enabled), so workloadScope: mesh only records this`,
  };
}
