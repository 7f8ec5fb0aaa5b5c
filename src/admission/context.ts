import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import type { PolicyStore } from '../policy/store.js';
import type { ClusterView } from './cluster-view.js';
import { resolveMesh } from './mesh-resolution.js';
import type { RuleContext } from './rule.js';
import type { AdmissionRequest } from './types.js';

export interface ContextSources {
  readonly policy: PolicyStore;
  readonly cluster: ClusterView;
  readonly installNamespace: string;
  readonly clock: () => Date;
}

/** What rules see of one review: one policy snapshot, the namespace's labels, the mesh in force. */
export function reviewContext(request: AdmissionRequest, sources: ContextSources): RuleContext {
  const policy = sources.policy.forNamespace(request.namespace);
  const labels =
    request.namespace === undefined
      ? undefined
      : sources.cluster.namespaceLabels(request.namespace);
  return {
    request,
    policy,
    clusterPolicy: sources.policy.cluster,
    mesh: resolveMesh(policy, labels, sources.cluster),
    namespaceLabels: labels,
    cluster: sources.cluster,
    installNamespace: sources.installNamespace,
    now: sources.clock(),
    memo: reviewMemo(),
  };
}

/**
 * Why the namespace is excluded: the policy's list or its `meshwarden.io/enforce: disabled` label.
 * Undefined when it is not excluded.
 */
export function excludedBecause(ctx: RuleContext): string | undefined {
  const ns = ctx.request.namespace;
  if (ns === undefined) return undefined;
  if (ctx.policy.excludedNamespaces.includes(ns))
    return `namespace ${ns} is excluded (excludedNamespaces)`;
  return ctx.namespaceLabels?.[NAMESPACE_ENFORCE_LABEL] === 'disabled'
    ? `namespace ${ns} is excluded (${NAMESPACE_ENFORCE_LABEL}=disabled)`
    : undefined;
}

/**
 * A memo that lives as long as one review. Rules keep a few values per review (the object and
 * the old one, a key or two each): a list searched in order, dropped with the review, costs less
 * than maps of maps (and a weak map's entries cost the garbage collector more).
 */
function reviewMemo(): RuleContext['memo'] {
  const entries: { readonly object: object; readonly key: string; readonly value: unknown }[] = [];
  return <T>(object: object, key: string, compute: () => T): T => {
    for (const e of entries) if (e.object === object && e.key === key) return e.value as T;
    // Computed before it is listed: a computation may ask the memo for other values.
    const value = compute();
    entries.push({ object, key, value });
    return value;
  };
}
