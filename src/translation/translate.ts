import type { KubeObject, OwnerReference } from '../k8s/objects.js';
import type { MeshId } from '../mesh/ids.js';
import { meshHomeOf, WRITERS } from '../mesh/registry.js';
import type { HttpMatch, LocatedError } from '../traffic/model.js';
import { splitApiVersion } from '../util/api-version.js';
import { readTrafficSplit } from '../traffic/smi/read.js';
import { resolveMatches } from '../traffic/route-groups.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../traffic/service-name.js';
import { badHeaderName, type ServicePort, type Writer } from '../traffic/write-common.js';
import { portTargets, serviceTcpPorts } from './port-targets.js';

/** The native routing objects for one TrafficSplit, or why there are none. */
export type TranslationResult =
  | {
      readonly ok: true;
      readonly objects: readonly KubeObject[];
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

/** What translation may know beyond the TrafficSplit itself. Every field is optional. */
export interface TranslateOptions {
  /** Services of the split's namespace: the root Service's ports come from here. */
  readonly services?: readonly KubeObject[];
  /** HTTPRouteGroups (specs.smi-spec.io) that `spec.matches` refers to. */
  readonly routeGroups?: readonly KubeObject[];
  /** Root ports to use instead of the root Service's (HTTPRoute, App Mesh and Gloo need one). */
  readonly ports?: readonly number[];
  /** Namespace of a split that carries none. */
  readonly namespace?: string;
  /** Cluster DNS domain for fully qualified hosts (Istio). */
  readonly clusterDomain?: string;
  /**
   * Mesh objects the cluster already holds in the split's namespace (ServiceDefaults,
   * ProxyDefaults, App Mesh VirtualNodes and VirtualServices): the user's own are used, never
   * overwritten.
   */
  readonly existing?: readonly KubeObject[];
  /** `services` and `existing` are all the cluster holds (watch caches); offline input is not. */
  readonly complete?: boolean;
  /** Version to write per API group (`--target-version group/version`, or cluster discovery). */
  readonly targetVersions?: Readonly<Record<string, string>>;
}

/**
 * Translates an SMI TrafficSplit (any version) into the native routing objects of `mesh`
 * (CONTRACT §7). Pure: no I/O. Deterministic: the same input gives identical output.
 * A split the validating webhook would deny is refused with the same reasons.
 */
export function translateTrafficSplit(
  split: KubeObject,
  mesh: MeshId,
  options: TranslateOptions = {},
): TranslationResult {
  const read = readTrafficSplit(
    split,
    options.namespace === undefined ? {} : { namespace: options.namespace },
  );
  const model = read.splits[0];
  if (read.errors.length > 0 || !model) return refuse(read.errors);
  let matches: HttpMatch[] | undefined;
  if (model.matchRefs) {
    const resolved = resolveMatches(model.matchRefs, model.namespace, options.routeGroups ?? []);
    if (resolved.errors.length > 0) return refuse(resolved.errors);
    matches = resolved.matches;
    // Invalid in every mesh, so checked once here rather than by each writer.
    const badHeader = badHeaderName(matches);
    if (badHeader !== undefined)
      return { ok: false, error: `header "${badHeader}" is not a valid HTTP header name` };
  }
  const ports = rootPorts(model.rootService, model.namespace, options);
  if (!ports.ok) return { ok: false, error: ports.error };
  const complete = options.complete === true;
  const services = options.services ?? [];
  const planned = portTargets(model, ports.ports, services, complete);
  if (!planned.ok) return planned;
  const writer = WRITERS[mesh];
  const unwritable = unwritableVersion(writer, options.targetVersions ?? {});
  if (unwritable !== undefined) return { ok: false, error: unwritable };
  const result = writer.write({
    split: { ...model, backends: planned.kept, ...(matches ? { matches } : {}) },
    matches,
    ports: ports.ports,
    targets: planned.targets,
    clusterDomain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
    versions: { ...meshHomeOf(mesh).targetVersions, ...options.targetVersions },
    context: { services, existing: options.existing ?? [], complete },
  });
  if (!result.ok) return result;
  const owner = ownerReference(split);
  return {
    ok: true,
    objects: owner ? result.objects.map((o) => ownedBy(o, owner, split)) : result.objects,
    warnings: [...planned.warnings, ...result.warnings],
  };
}

/**
 * A requested version of a group the writer writes that it cannot write (a writer without
 * `versions` writes only its kinds' own). Groups it does not write are not its concern.
 */
function unwritableVersion(
  writer: Writer,
  requested: Readonly<Record<string, string>>,
): string | undefined {
  const kinds = [writer.produces, ...(writer.alsoProduces ?? [])];
  for (const [group, version] of Object.entries(requested)) {
    const own = kinds.filter((k) => k.group === group);
    if (own.length === 0) continue;
    const supported = writer.versions?.[group] ?? [...new Set(own.map((k) => k.version))];
    if (!supported.includes(version))
      return `${group}/${version} is not a version meshwarden writes; it writes ${supported.map((v) => `${group}/${v}`).join(', ')}`;
  }
  return undefined;
}

/**
 * The controller reference every translated object carries, as the reconciler sets it: deleting
 * the split deletes them. Only a split read from a cluster has a uid to refer to.
 */
export function ownerReference(split: KubeObject): OwnerReference | undefined {
  const meta = split.metadata;
  if (typeof meta?.uid !== 'string' || meta.uid === '' || typeof meta.name !== 'string')
    return undefined;
  return {
    apiVersion: typeof split.apiVersion === 'string' ? split.apiVersion : '',
    kind: 'TrafficSplit',
    name: meta.name,
    uid: meta.uid,
    controller: true,
  };
}

function ownedBy(object: KubeObject, owner: OwnerReference, split: KubeObject): KubeObject {
  // OSM's output is the split itself (in another version): it cannot own itself.
  if (object.kind === split.kind && object.metadata?.name === split.metadata?.name) return object;
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

/** One line per problem, each with its field path. */
export function formatLocatedErrors(errors: readonly LocatedError[]): string {
  const lines = errors.map((e) => `${e.path}: ${e.message}`);
  return lines.length === 1
    ? (lines[0] ?? '')
    : `${lines.length} problems:\n${lines.map((l) => `- ${l}`).join('\n')}`;
}

function refuse(errors: readonly LocatedError[]): TranslationResult {
  return {
    ok: false,
    error:
      errors.length > 0 ? formatLocatedErrors(errors) : 'spec.backends: no backend could be read',
  };
}

function rootPorts(
  root: string,
  namespace: string,
  options: TranslateOptions,
): { ok: true; ports: ServicePort[] | undefined } | { ok: false; error: string } {
  if (options.ports && options.ports.length > 0) {
    const bad = options.ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
    if (bad !== undefined)
      return { ok: false, error: `port ${bad} is not a port number (1-65535)` };
    return {
      ok: true,
      ports: [...new Set(options.ports)].sort((a, b) => a - b).map((port) => ({ port })),
    };
  }
  const service = (options.services ?? []).find(
    (s) =>
      s.kind === 'Service' &&
      splitApiVersion(typeof s.apiVersion === 'string' ? s.apiVersion : '').group === '' &&
      s.metadata?.name === root &&
      (s.metadata.namespace ?? namespace) === namespace,
  );
  if (!service) return { ok: true, ports: undefined };
  // An empty list (found, but no TCP port) lets writers that need a port say so.
  return { ok: true, ports: serviceTcpPorts(service) };
}
