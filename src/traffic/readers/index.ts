import type { KindRef } from '../../admission/rule.js';
import type { KubeObject } from '../../k8s/objects.js';
import type { LocatedError, SplitSource, WeightedSplit } from '../model.js';
import { readAppMeshVirtualRouter } from './appmesh.js';
import { splitApiVersion } from '../../util/api-version.js';
import { sourceOf, type ReaderOptions, type ReaderOutput } from './common.js';
import { readConsulServiceSplitter } from './consul.js';
import { readGlooRoutes } from './gloo.js';
import { readHttpRoute } from './httproute.js';
import { readIstioVirtualService } from './istio.js';
import { readTrafficSplit, TRAFFIC_SPLIT_GROUP, TRAFFIC_SPLIT_VERSIONS } from './trafficsplit.js';

export type { ReaderOptions } from './common.js';

/** The route kinds that carry weights (CONTRACT §3), each with its reader. */
export const ROUTE_KINDS = [
  {
    id: 'smi-trafficsplit',
    group: TRAFFIC_SPLIT_GROUP,
    kind: 'TrafficSplit',
    versions: TRAFFIC_SPLIT_VERSIONS,
    read: readTrafficSplit,
  },
  {
    id: 'istio-virtualservice',
    group: 'networking.istio.io',
    kind: 'VirtualService',
    versions: ['v1', 'v1beta1', 'v1alpha3'],
    read: readIstioVirtualService,
  },
  {
    id: 'gloo-virtualservice',
    group: 'gateway.solo.io',
    kind: 'VirtualService',
    versions: ['v1'],
    read: readGlooRoutes,
  },
  {
    id: 'gloo-routetable',
    group: 'gateway.solo.io',
    kind: 'RouteTable',
    versions: ['v1'],
    read: readGlooRoutes,
  },
  {
    id: 'gateway-httproute',
    group: 'gateway.networking.k8s.io',
    kind: 'HTTPRoute',
    versions: ['v1', 'v1beta1'],
    read: readHttpRoute,
  },
  {
    id: 'appmesh-virtualrouter',
    group: 'appmesh.k8s.aws',
    kind: 'VirtualRouter',
    versions: ['v1beta2'],
    read: readAppMeshVirtualRouter,
  },
  {
    id: 'consul-servicesplitter',
    group: 'consul.hashicorp.com',
    kind: 'ServiceSplitter',
    versions: ['v1alpha1'],
    read: readConsulServiceSplitter,
  },
] as const satisfies readonly (KindRef & {
  id: string;
  read: (object: KubeObject, options?: ReaderOptions) => ReaderOutput;
})[];

export type RouteKindId = (typeof ROUTE_KINDS)[number]['id'];

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
    (k) =>
      k.group === group && k.kind === kind && (k.versions as readonly string[]).includes(version),
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
  if (group === 'appmesh.k8s.aws' && kind === 'VirtualService') {
    return `${what} carries no weights meshwarden reads: App Mesh weights live in appmesh.k8s.aws/v1beta2 VirtualRouter routes`;
  }
  if (group === 'gateway.networking.k8s.io') {
    return `${what} is not a route kind meshwarden reads; of the Gateway API it reads HTTPRoute v1 and v1beta1`;
  }
  return `${what} is not a weighted-route kind meshwarden reads`;
}
