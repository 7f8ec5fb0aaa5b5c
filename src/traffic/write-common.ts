import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PREREQUISITE_ANNOTATION,
  SOURCE_ANNOTATION,
} from '../k8s/keys.js';
import type { GroupVersionKind, KubeObject, ObjectMeta } from '../k8s/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import type { HttpMatch, SplitBackend, SplitSource, WeightedSplit } from './model.js';
import type { Normalized } from './normalize.js';
import type { PortProtocol } from './port-protocol.js';
import { formatPercent, shares } from './rational.js';

/** A port of a Service. */
export interface ServicePort {
  readonly port: number;
  readonly name?: string;
  readonly appProtocol?: string;
  /** The container port behind it, when the Service says. */
  readonly targetPort?: number | string;
}

/** A backend on one root port: the port its own Service exposes for it (name first, then number). */
export interface TargetBackend {
  readonly backend: SplitBackend;
  readonly port: ServicePort;
  /** The backend's Service, when known. */
  readonly service?: KubeObject;
}

/** One port of the root Service and the backends that expose it. */
export interface PortTarget {
  readonly root: ServicePort;
  readonly protocol: PortProtocol;
  /** In split order; never empty, and their weights are not all 0. */
  readonly backends: readonly TargetBackend[];
}

/** What translation knows of the cluster besides the split. */
export interface ClusterContext {
  /** Services of the split's namespace. */
  readonly services: readonly KubeObject[];
  /** Mesh objects of the split's namespace a writer consults (ServiceDefaults, VirtualNodes, ...). */
  readonly existing: readonly KubeObject[];
  /**
   * True when `services` and `existing` are everything the cluster holds (the controller's watch
   * caches): what is not there does not exist. False for offline input, which may be partial.
   */
  readonly complete: boolean;
}

/** A kind a writer reads existing objects of. */
export interface ConsultedKind extends GroupVersionKind {
  readonly resource: string;
  /** Its objects count wherever they live (Consul's `global` ProxyDefaults), not only in the split's namespace. */
  readonly anyNamespace?: boolean;
}

/** What a writer needs: a valid split (total above zero), its matches, and the root's ports. */
export interface WriterInput {
  readonly split: WeightedSplit;
  /** Resolved matches (TrafficSplit v1alpha3+), or undefined when the split has none. */
  readonly matches: readonly HttpMatch[] | undefined;
  /** TCP ports of the root Service: undefined when the Service is unknown, empty when it has none. */
  readonly ports: readonly ServicePort[] | undefined;
  /** Per root port, the backends that serve it; undefined when the root's ports are unknown. */
  readonly targets: readonly PortTarget[] | undefined;
  readonly clusterDomain: string;
  /** Requested version per API group (a flag, or the highest the cluster serves). */
  readonly versions: Readonly<Record<string, string>>;
  readonly context: ClusterContext;
}

export type WriterResult =
  | { readonly ok: true; readonly objects: KubeObject[]; readonly warnings: string[] }
  | { readonly ok: false; readonly error: string };

export interface Writer {
  /** The kind written: the controller watches it, messages and docs name it. */
  readonly produces: GroupVersionKind;
  /** Other kinds it may write (prerequisites, other route kinds), watched and pruned the same way. */
  readonly alsoProduces?: readonly GroupVersionKind[];
  /**
   * The versions it can write, per API group, most preferred first. In a cluster the first one
   * served is chosen; offline the `--target-version` flag or the mesh's default decides.
   */
  readonly versions?: Readonly<Record<string, readonly string[]>>;
  /** Kinds whose existing objects it consults (`resource` is the plural for the watch). */
  readonly consults?: readonly ConsultedKind[];
  write(input: WriterInput): WriterResult;
}

/**
 * The version to write for `group`: the requested one when this writer supports it, else the
 * default; an error naming the supported versions when the request is one it cannot write.
 */
export function chooseVersion(
  input: WriterInput,
  group: string,
  supported: readonly string[],
  fallback: string,
): { ok: true; version: string } | { ok: false; error: string } {
  const requested = input.versions[group];
  if (requested === undefined) return { ok: true, version: fallback };
  if (supported.includes(requested)) return { ok: true, version: requested };
  return {
    ok: false,
    error: `${group}/${requested} is not a version meshwarden writes; it writes ${supported.map((v) => `${group}/${v}`).join(', ')}`,
  };
}

/**
 * An object of the split's namespace the user (or another split) already has, by group, kind and
 * name; objects this split controls are its own output, not the user's, and are skipped.
 */
export function existingObject(
  input: WriterInput,
  group: string,
  kind: string,
  name: string,
  anyNamespace = false,
): KubeObject | undefined {
  const uid = input.split.source.uid;
  return input.context.existing.find(
    (o) =>
      o.kind === kind &&
      splitApiVersion(typeof o.apiVersion === 'string' ? o.apiVersion : '').group === group &&
      o.metadata?.name === name &&
      (anyNamespace || (o.metadata.namespace ?? input.split.namespace) === input.split.namespace) &&
      !(uid !== undefined && (o.metadata.ownerReferences ?? []).some((r) => r.uid === uid)),
  );
}

/**
 * Metadata of an object the routing needs besides the route itself (a ServiceDefaults, an App
 * Mesh VirtualService): marked `checked` when the cluster was seen to have none, `unchecked`
 * offline, where the cluster may already hold one of that name.
 */
export function prerequisiteMetadata(name: string, input: WriterInput): ObjectMeta {
  const meta = metadata(name, input);
  return {
    ...meta,
    annotations: {
      ...meta.annotations,
      [PREREQUISITE_ANNOTATION]: input.context.complete ? 'checked' : 'unchecked',
    },
  };
}

/** A Service of the split's namespace by name. */
export function serviceNamed(input: WriterInput, name: string): KubeObject | undefined {
  return input.context.services.find(
    (s) =>
      s.metadata?.name === name &&
      (s.metadata.namespace ?? input.split.namespace) === input.split.namespace,
  );
}

/** A Service's `spec.selector`, when it has one. */
export function serviceSelector(
  service: KubeObject | undefined,
): Record<string, string> | undefined {
  const spec = service?.spec;
  if (typeof spec !== 'object' || spec === null) return undefined;
  const selector = (spec as Record<string, unknown>).selector;
  if (typeof selector !== 'object' || selector === null || Array.isArray(selector))
    return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(selector)) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** `group/version` of a kind (`v1` for the core group). */
export function apiVersionOf(gvk: GroupVersionKind): string {
  return gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/** A kind for messages, e.g. `apps/v1 Deployment`. */
export function kindText(gvk: GroupVersionKind): string {
  return `${apiVersionOf(gvk)} ${gvk.kind}`;
}

/** `<apiVersion> <kind> <namespace>/<name>` of the source, e.g. a TrafficSplit. */
export function sourceText(source: SplitSource): string {
  return `${source.apiVersion} ${source.kind} ${source.namespace}/${source.name}`;
}

export function metadata(name: string, input: WriterInput): ObjectMeta {
  return {
    name,
    namespace: input.split.namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    annotations: { [SOURCE_ANNOTATION]: sourceText(input.split.source) },
  };
}

/** Warnings for backends whose non-zero share rounds to nothing at the target's scale. */
export function roundingWarnings(
  input: Pick<WriterInput, 'split'> | { readonly split: Pick<WeightedSplit, 'backends'> },
  normalized: Normalized,
  scale: string,
): string[] {
  const exact = shares(input.split) ?? [];
  return normalized.roundedToZero.map((i) => {
    const backend = input.split.backends[i];
    const share = exact[i];
    return `backend ${backend?.name ?? i} has a ${share ? formatPercent(share, 2) : 'tiny'} share, which rounds to 0 in ${scale}: it gets no traffic`;
  });
}

/** The error every port-dependent writer gives when the root Service's ports are unknown. */
export function portsUnknown(input: WriterInput, kind: GroupVersionKind): WriterResult {
  const root = input.split.rootService;
  const produces = kindText(kind);
  return {
    ok: false,
    error: input.ports
      ? `${produces} needs a TCP port of root Service ${root}, which has none`
      : `${produces} needs the port of root Service ${root}: give its Service manifest alongside the TrafficSplit (or pass --port)`,
  };
}

/** One object per port when the root Service has several: `name-<port>`. */
export function perPortName(
  base: string,
  port: ServicePort,
  ports: readonly ServicePort[],
): string {
  return ports.length > 1 ? `${base}-${port.port}` : base;
}

/**
 * SMI anchors `pathRegex` at the start of the path only, while Envoy-based meshes match the whole
 * path: append `.*` unless the expression already ends the match itself.
 */
export function wholePathRegex(smiRegex: string): string {
  if (/(\.\*|\$)$/.test(smiRegex) && !smiRegex.includes('|')) return smiRegex;
  return `(?:${smiRegex}).*`;
}

/** Each SMI match split into one per method, for targets whose matches take a single method. */
export function perMethod(matches: readonly HttpMatch[]): { match: HttpMatch; method?: string }[] {
  return matches.flatMap((match) =>
    match.methods && match.methods.length > 0
      ? match.methods.map((method) => ({ match, method }))
      : [{ match }],
  );
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** Header names every target accepts (RFC 7230 tokens). */
export function badHeaderName(matches: readonly HttpMatch[]): string | undefined {
  for (const m of matches)
    for (const name of Object.keys(m.headers ?? {})) if (!HEADER_NAME.test(name)) return name;
  return undefined;
}
