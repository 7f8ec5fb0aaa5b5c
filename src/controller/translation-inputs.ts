import { splitTranslationInputs, type ClusterView } from '../admission/cluster-view.js';
import type { KubeObject } from '../k8s/objects.js';
import type { MeshId } from '../mesh/ids.js';
import { CONSULTED_KINDS, WRITERS } from '../mesh/registry.js';
import { translateTrafficSplit } from '../translation/translate.js';
import type { Discovery } from './discovery.js';
import type { InformerOptions } from './informer.js';
import type { KubeClient } from './kube-client.js';
import { PreferredVersionCache } from './preferred-version-cache.js';
import type { Translate } from './traffic-split-reconciler.js';

/**
 * Translation from the watch caches behind the rules' cluster view (complete: what is not cached
 * does not exist), in the highest version the cluster serves. The guard's check of these writes
 * (rules/trust-meshwarden.ts) reads the same view the same way.
 */
export function translateFromView(cluster: ClusterView, discovery: Discovery): Translate {
  return (split, mesh) =>
    translateTrafficSplit(split, mesh, {
      ...splitTranslationInputs(cluster, split.metadata?.namespace ?? ''),
      targetVersions: servedTargetVersions(discovery, mesh),
    });
}

/**
 * What translation reads from the cluster besides Services and HTTPRouteGroups: every object
 * of the kinds writers consult (Consul ServiceDefaults and ProxyDefaults, App Mesh VirtualNodes
 * and VirtualServices), whoever wrote them, so the user's own are used and never written over.
 */
export class ConsultedObjects {
  readonly caches: readonly PreferredVersionCache[];
  readonly #anyNamespace: readonly boolean[];

  constructor(client: KubeClient, discovery: Discovery, options: InformerOptions) {
    this.#anyNamespace = CONSULTED_KINDS.map((k) => k.anyNamespace === true);
    this.caches = CONSULTED_KINDS.map(
      (k) =>
        new PreferredVersionCache(
          client,
          discovery,
          { group: k.group, kind: k.kind, resource: k.resource },
          options,
        ),
    );
  }

  /** Called for every change of a consulted object. */
  onChange(listener: (object: KubeObject) => void): void {
    for (const cache of this.caches) cache.onChange(listener);
  }

  /** The consulted objects of one namespace, and those of kinds that count in any namespace. */
  list(namespace: string | undefined): KubeObject[] {
    return this.caches.flatMap(
      (c, i) => c.current()?.list(this.#anyNamespace[i] ? undefined : namespace) ?? [],
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.caches.map((c) => c.stop()));
  }
}

/**
 * The version to write per API group for `mesh`: the first of the writer's versions (most
 * preferred first) that the cluster serves. Groups with none served are left to the default,
 * and the reconciler reports the kind as not served.
 */
export function servedTargetVersions(discovery: Discovery, mesh: MeshId): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [group, versions] of Object.entries(WRITERS[mesh].versions ?? {})) {
    const served = versions.find((v) => discovery.isServed(`${group}/${v}`));
    if (served !== undefined) out[group] = served;
  }
  return out;
}
