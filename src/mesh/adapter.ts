/** Where a key lives on an object's metadata. */
export type MetadataMap = 'label' | 'annotation';

/** A metadata key and the values of it that mean something (compared case-insensitively). */
export interface MetadataMatch {
  readonly on: MetadataMap;
  readonly key: string;
  readonly values: readonly string[];
}

/**
 * The pod-template key that asks a mesh's injector for a sidecar (CONTRACT §5). Injection happens
 * at Pod creation, so the marker goes on `spec.template.metadata` of the workload.
 */
export interface InjectionMarker {
  readonly on: MetadataMap;
  readonly key: string;
  /** The value meshwarden writes. */
  readonly value: string;
  /** Values that opt the pod out; a template carrying one keeps it and gets no marker. */
  readonly optOutValues: readonly string[];
  /** Other values the injector already reads as "inject" (e.g. Linkerd's `ingress`); kept as they are. */
  readonly optInValues: readonly string[];
}

export interface SidecarInjection {
  readonly marker: InjectionMarker;
  /** Other pod-template keys that mean "no sidecar from this mesh" (e.g. Istio ambient mode). */
  readonly podOptOuts: readonly MetadataMatch[];
  /** Namespace labels by which a namespace turned this mesh's injection off. */
  readonly namespaceOptOuts: readonly MetadataMatch[];
}

/**
 * A namespace label or annotation by which a namespace takes part in a mesh (Istio's
 * `istio-injection=enabled`, Linkerd's namespace inject annotation, ...). The workload
 * rules enforce in such namespaces under the default `workloadScope: mesh`.
 */
export interface NamespaceOptIn {
  readonly on: MetadataMap;
  readonly key: string;
  /** Values that opt in (compared case-insensitively); absent: any non-empty value. */
  readonly values?: readonly string[];
}

/** A control-plane Deployment whose presence shows the mesh is installed. */
export interface ControlPlaneDeployment {
  /** Deployment name; `*` matches any run of characters. */
  readonly name: string;
  /** The namespace the mesh's installers use by default (others are possible). */
  readonly usualNamespace: string;
  /** Substrings the control-plane image usually contains, as a confirmation. */
  readonly imageContains?: readonly string[];
}

/**
 * What shows that a mesh is installed, strongest first in practice: webhook entry names, then a
 * control-plane Deployment, with CRDs confirming the API shape. Cluster detection
 * (controller/mesh-detection.ts) reads this and nothing else: the groups of `crds` and
 * `crdGroups` as served API groups, `webhookEntries`, and `controlPlane` in its usual namespace. A CRD alone is weak evidence: CRDs
 * outlive uninstalls, and some meshes ship other projects' CRDs (Linkerd bundles Gateway API's).
 * Name patterns use `*` for any run of characters (see `matchesNamePattern`).
 */
export interface DetectionEvidence {
  /** CRD names (`<plural>.<group>`). */
  readonly crds: readonly string[];
  /** API groups in which any CRD counts. */
  readonly crdGroups: readonly string[];
  /** `webhooks[].name` entries of MutatingWebhookConfigurations: the most robust signal. */
  readonly webhookEntries: readonly string[];
  /** MutatingWebhookConfiguration object names; they follow the Helm release name. */
  readonly webhookConfigurations: readonly string[];
  readonly controlPlane: readonly ControlPlaneDeployment[];
}

/**
 * Everything the rest of meshwarden needs to know about one mesh. The workload rules read
 * `injection`; cluster detection reads `detection`. The translation writers of CONTRACT §7 join
 * each mesh through the traffic module.
 */
export interface MeshAdapter {
  /** The id of the mesh's home (a `MeshId`; typed as a string so the registry can derive ids). */
  readonly id: string;
  readonly displayName: string;
  /** Absent for meshes that route traffic without injecting a sidecar (gloo, gateway-api). */
  readonly injection?: SidecarInjection;
  /** How a namespace says it takes part in this mesh; empty when the mesh has no such key. */
  readonly namespaceOptIns: readonly NamespaceOptIn[];
  /**
   * Namespaces the mesh's own installers use for its control plane and add-ons. The workload rules
   * never touch them: a marker or a refusal there could break the mesh itself.
   */
  readonly controlPlaneNamespaces: readonly string[];
  readonly detection: DetectionEvidence;
}

/** The API groups whose presence is evidence: each CRD's group (`<plural>.<group>`), then `crdGroups`. */
export function detectionApiGroups(detection: DetectionEvidence): string[] {
  const fromCrds = detection.crds.map((crd) => crd.slice(crd.indexOf('.') + 1));
  return [...new Set([...fromCrds, ...detection.crdGroups])];
}

/** Does `name` match `pattern`, where `*` stands for any run of characters (possibly empty)? */
export function matchesNamePattern(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (name.length < first.length + last.length) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found === -1 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

/**
 * Builds a mesh's `SidecarInjection`. The marker key in the other metadata map (Istio's deprecated
 * annotation form, Kuma's refused annotation form, ...) still states the owner's intent, so an
 * opt-out value there is honoured too.
 */
export function sidecarInjection(
  marker: InjectionMarker,
  extra: {
    readonly podOptOuts?: readonly MetadataMatch[];
    readonly namespaceOptOuts?: readonly MetadataMatch[];
  } = {},
): SidecarInjection {
  const otherMap: MetadataMap = marker.on === 'label' ? 'annotation' : 'label';
  return {
    marker,
    podOptOuts: [
      { on: otherMap, key: marker.key, values: marker.optOutValues },
      ...(extra.podOptOuts ?? []),
    ],
    namespaceOptOuts: extra.namespaceOptOuts ?? [],
  };
}
