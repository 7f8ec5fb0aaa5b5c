import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, SOURCE_ANNOTATION } from '../k8s/keys.js';
import type { GroupVersionKind, KubeObject, ObjectMeta } from '../k8s/objects.js';
import type { HttpMatch, SplitSource, WeightedSplit } from './model.js';
import type { Normalized } from './normalize.js';
import { formatPercent, shares } from './rational.js';

/** A port of the root Service. */
export interface ServicePort {
  readonly port: number;
  readonly name?: string;
}

/** What a writer needs: a valid split (total above zero), its matches, and the root's ports. */
export interface WriterInput {
  readonly split: WeightedSplit;
  /** Resolved matches (TrafficSplit v1alpha3+), or undefined when the split has none. */
  readonly matches: readonly HttpMatch[] | undefined;
  /** TCP ports of the root Service: undefined when the Service is unknown, empty when it has none. */
  readonly ports: readonly ServicePort[] | undefined;
  readonly clusterDomain: string;
}

export type WriterResult =
  | { readonly ok: true; readonly objects: KubeObject[]; readonly warnings: string[] }
  | { readonly ok: false; readonly error: string };

export interface Writer {
  /** The kind written: the controller watches it, messages and docs name it. */
  readonly produces: GroupVersionKind;
  write(input: WriterInput): WriterResult;
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
  input: WriterInput,
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
