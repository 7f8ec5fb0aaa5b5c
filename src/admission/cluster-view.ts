import type { MeshId } from '../mesh/ids.js';
import type { KubeObject } from '../k8s/objects.js';

/**
 * What rules may know about the cluster. In a cluster it is backed by watch caches (never an API
 * call on the admission path); offline, `review` fills it from flags.
 */
export interface ClusterView {
  /** Labels of a namespace, or undefined when unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** The mesh found installed in the cluster, when detection has run. */
  detectedMesh(): MeshId | undefined;
  /** A Flagger `Canary` by namespace and name, when known. */
  canary(namespace: string, name: string): KubeObject | undefined;
}

export interface StaticClusterFacts {
  namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Labels applied to every namespace (the CLI's `--namespace-labels`). */
  allNamespaceLabels?: Readonly<Record<string, string>>;
  mesh?: MeshId;
  canaries?: readonly KubeObject[];
}

/** A fixed view, for the offline CLI and tests. */
export function staticClusterView(facts: StaticClusterFacts = {}): ClusterView {
  return {
    namespaceLabels: (ns) => facts.namespaceLabels?.[ns] ?? facts.allNamespaceLabels,
    detectedMesh: () => facts.mesh,
    canary: (ns, name) =>
      facts.canaries?.find((c) => c.metadata?.namespace === ns && c.metadata.name === name),
  };
}
