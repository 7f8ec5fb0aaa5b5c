import type { KindRef, KubeObject } from '../k8s/objects.js';
import type { LocatedError, SplitSource, WeightedSplit } from '../traffic/model.js';
import { sourceOf, type ReaderOptions } from '../traffic/read-common.js';
import { splitApiVersion } from '../util/api-version.js';
import { MESH_ROUTINGS, ROUTE_KINDS } from './registry.js';

export type { ReaderOptions } from '../traffic/read-common.js';

/** A route kind's id, e.g. `istio-virtualservice` (see `ROUTE_KINDS`). */
export type RouteKindId = string;

/** Every weighted-route kind with its versions, as rules declare the kinds they handle. */
export const WEIGHTED_ROUTE_KINDS: readonly KindRef[] = ROUTE_KINDS.map(
  ({ group, kind, versions }) => ({
    group,
    kind,
    versions,
  }),
);

export type RouteReadResult =
  | {
      readonly supported: true;
      readonly kind: RouteKindId;
      readonly source: SplitSource;
      /** Every weighted route in object order, each with its stable key. */
      readonly splits: readonly WeightedSplit[];
      /** What could not be read; the routes that could are still in `splits`. */
      readonly errors: readonly LocatedError[];
    }
  | { readonly supported: false; readonly reason: string };

/**
 * Reads every weighted route of any route kind of CONTRACT §3 into the one model. Pure; never
 * throws on bad input: what cannot be read comes back as located errors.
 */
export function readWeightedRoutes(
  object: KubeObject,
  options: ReaderOptions = {},
): RouteReadResult {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const { group, version } = splitApiVersion(apiVersion);
  const entry = ROUTE_KINDS.find(
    (k) => k.group === group && k.kind === kind && k.versions.includes(version),
  );
  if (!entry) return { supported: false, reason: unsupportedReason(group, version, kind) };
  const { splits, errors } = entry.read(object, options);
  return { supported: true, kind: entry.id, source: sourceOf(object, options), splits, errors };
}

function unsupportedReason(group: string, version: string, kind: string): string {
  const what =
    `${group === '' ? '' : `${group}/`}${version} ${kind}`.trim() ||
    'an object without apiVersion and kind';
  const sameKind = ROUTE_KINDS.filter((k) => k.group === group && k.kind === kind);
  if (sameKind.length > 0) {
    const versions = sameKind.flatMap((k) => k.versions).join(', ');
    return `${what} is not a version meshwarden reads; it reads ${group} ${kind} ${versions}`;
  }
  for (const routing of MESH_ROUTINGS) {
    const reason = routing.explainUnread?.(what, group, kind);
    if (reason !== undefined) return reason;
  }
  return `${what} is not a weighted-route kind meshwarden reads`;
}
