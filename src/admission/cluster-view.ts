import type { MeshId } from '../mesh/ids.js';
import type { KubeObject } from '../k8s/objects.js';
import { splitApiVersion } from '../util/api-version.js';

/**
 * What rules may know about the cluster. In a cluster it is backed by watch caches (never an API
 * call on the admission path); offline, `review` fills it from flags and `--context` files.
 */
export interface ClusterView {
  /** Labels of a namespace, or undefined when unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  /** Annotations of a namespace, or undefined when unknown (or not watched). */
  namespaceAnnotations?(namespace: string): Readonly<Record<string, string>> | undefined;
  /**
   * What a namespace whose labels are unknown counts as for the workload rules' scope.
   * `in-scope` (the default, offline): the files under review are what the user asks about.
   * `unlabelled` (in a cluster): a namespace the watch cache has not seen yet carries no label
   * meshwarden knows of.
   */
  readonly unknownNamespaces?: 'in-scope' | 'unlabelled';
  /** The mesh found installed in the cluster, when detection has run. */
  detectedMesh(): MeshId | undefined;
  /** A Flagger `Canary` by namespace and name, when known. */
  canary(namespace: string, name: string): KubeObject | undefined;
  /** Another object by API group, kind, namespace and name, when known (offline: `--context`). */
  object?(group: string, kind: string, namespace: string, name: string): KubeObject | undefined;
}

export interface StaticClusterFacts {
  namespaceLabels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  namespaceAnnotations?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Labels applied to every namespace (the CLI's `--namespace-labels`). */
  allNamespaceLabels?: Readonly<Record<string, string>>;
  mesh?: MeshId;
  canaries?: readonly KubeObject[];
  /** Other objects the cluster holds (the CLI's `--context`). */
  objects?: readonly KubeObject[];
}

/** A fixed view, for the offline CLI and tests. */
export function staticClusterView(facts: StaticClusterFacts = {}): ClusterView {
  return {
    namespaceLabels: (ns) => facts.namespaceLabels?.[ns] ?? facts.allNamespaceLabels,
    namespaceAnnotations: (ns) => facts.namespaceAnnotations?.[ns],
    unknownNamespaces: 'in-scope',
    detectedMesh: () => facts.mesh,
    canary: (ns, name) =>
      facts.canaries?.find((c) => c.metadata?.namespace === ns && c.metadata.name === name),
    object: (group, kind, ns, name) =>
      facts.objects?.find(
        (o) =>
          o.kind === kind &&
          splitApiVersion(o.apiVersion ?? '').group === group &&
          o.metadata?.namespace === ns &&
          o.metadata.name === name,
      ),
  };
}
