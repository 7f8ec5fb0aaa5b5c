import type { MeshId } from '../mesh/ids.js';
import type { KubeObject } from '../k8s/objects.js';
import type { TranslateOptions } from '../translation/translate.js';
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
  /** Every Flagger `Canary` known in a namespace. */
  canaries(namespace: string): readonly KubeObject[];
  /**
   * Argo `Rollout`s known in a namespace, or in every namespace when `namespace` is undefined
   * (the Gateway API plugin may name a route in another namespace).
   */
  rollouts(namespace?: string): readonly KubeObject[];
  /** An SMI `TrafficSplit` by namespace and name, in the version it was last written in. */
  trafficSplit(namespace: string, name: string): KubeObject | undefined;
  /** Services of a namespace (translation needs the root Service's ports). */
  services(namespace: string): readonly KubeObject[];
  /** SMI `HTTPRouteGroup`s of a namespace (translation of `spec.matches`). */
  httpRouteGroups(namespace: string): readonly KubeObject[];
  /**
   * The mesh objects translation consults (the kinds the registry's writers name in `consults`):
   * those of a namespace, and those that count in any namespace. Writers filter them further.
   */
  meshObjects?(namespace: string): readonly KubeObject[];
  /**
   * True when the view is the cluster's watch caches, so that a Service or mesh object it does
   * not hold does not exist; offline input may be partial.
   */
  readonly complete?: boolean;
  /**
   * The ServiceAccount meshwarden's own controller writes as, `namespace/name` (serve's
   * `--controller-service-account`), when known.
   */
  controllerServiceAccount(): string | undefined;
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
  rollouts?: readonly KubeObject[];
  trafficSplits?: readonly KubeObject[];
  services?: readonly KubeObject[];
  httpRouteGroups?: readonly KubeObject[];
  controllerServiceAccount?: string;
  /** The facts are all the cluster holds (tests of in-cluster behaviour). */
  complete?: boolean;
}

/** A fixed view, for the offline CLI and tests. */
export function staticClusterView(facts: StaticClusterFacts = {}): ClusterView {
  const inNamespace = (list: readonly KubeObject[] | undefined, ns: string | undefined) =>
    (list ?? []).filter((o) => ns === undefined || o.metadata?.namespace === ns);
  const byName = (list: readonly KubeObject[] | undefined, ns: string, name: string) =>
    list?.find((o) => o.metadata?.namespace === ns && o.metadata.name === name);
  return {
    namespaceLabels: (ns) => facts.namespaceLabels?.[ns] ?? facts.allNamespaceLabels,
    namespaceAnnotations: (ns) => facts.namespaceAnnotations?.[ns],
    unknownNamespaces: 'in-scope',
    detectedMesh: () => facts.mesh,
    object: (group, kind, ns, name) =>
      facts.objects?.find(
        (o) =>
          o.kind === kind &&
          splitApiVersion(o.apiVersion ?? '').group === group &&
          o.metadata?.namespace === ns &&
          o.metadata.name === name,
      ),
    canary: (ns, name) => byName(facts.canaries, ns, name),
    canaries: (ns) => inNamespace(facts.canaries, ns),
    rollouts: (ns) => inNamespace(facts.rollouts, ns),
    trafficSplit: (ns, name) => byName(facts.trafficSplits, ns, name),
    services: (ns) => inNamespace(facts.services, ns),
    httpRouteGroups: (ns) => inNamespace(facts.httpRouteGroups, ns),
    // Every `--context` object: writers pick the kinds they consult, by namespace where it counts.
    meshObjects: () => facts.objects ?? [],
    ...(facts.complete === undefined ? {} : { complete: facts.complete }),
    controllerServiceAccount: () => facts.controllerServiceAccount,
  };
}

/**
 * What translating a TrafficSplit of `namespace` may know from the view. The reconciler and the
 * guard's check of the reconciler's writes both translate with these, so they agree.
 */
export function splitTranslationInputs(
  cluster: ClusterView,
  namespace: string,
): Pick<TranslateOptions, 'services' | 'routeGroups' | 'existing' | 'complete'> {
  return {
    services: cluster.services(namespace),
    routeGroups: cluster.httpRouteGroups(namespace),
    existing: cluster.meshObjects?.(namespace) ?? [],
    complete: cluster.complete === true,
  };
}
