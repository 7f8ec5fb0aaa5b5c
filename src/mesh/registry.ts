import type { GroupVersionKind } from '../k8s/objects.js';
import type { RouteKind } from '../traffic/read-common.js';
import { KNATIVE_ROUTE_KINDS } from '../traffic/knative/index.js';
import { TRAFFIC_SPLIT_ROUTE_KIND } from '../traffic/smi/read.js';
import type { ConsultedKind, Writer } from '../traffic/write-common.js';
import type { MeshAdapter } from './adapter.js';
import { appmeshHome } from './appmesh/index.js';
import { consulHome } from './consul/index.js';
import { gatewayApiHome } from './gateway-api/index.js';
import { glooHome } from './gloo/index.js';
import type { MeshHome, MeshRouting } from './home.js';
import { istioHome } from './istio/index.js';
import { kumaHome } from './kuma/index.js';
import { linkerdHome } from './linkerd/index.js';
import { osmHome } from './osm/index.js';

/**
 * Every mesh meshwarden knows, one home each. Adding a mesh is a folder `src/mesh/<id>/` and a
 * line here: the ids, the route-kind table, the writer table and detection all derive from this
 * list. Its order is the order ids are listed in and the tie-break order of mesh detection.
 */
const HOMES = [
  istioHome,
  linkerdHome,
  consulHome,
  appmeshHome,
  kumaHome,
  osmHome,
  glooHome,
  gatewayApiHome,
] as const;

/** A mesh id. `gloo` and `gateway-api` route traffic but inject no sidecar. */
export type MeshId = (typeof HOMES)[number]['id'];

export const MESH_IDS: readonly MeshId[] = HOMES.map((home) => home.id);

export function isMeshId(value: unknown): value is MeshId {
  return typeof value === 'string' && (MESH_IDS as readonly string[]).includes(value);
}

const BY_ID = new Map<string, MeshHome<MeshId>>(HOMES.map((home) => [home.id, home]));

/** The home of one mesh. */
export function meshHomeOf(id: MeshId): MeshHome<MeshId> {
  const home = BY_ID.get(id);
  if (!home) throw new Error(`no mesh home for ${id}`);
  return home;
}

/** Every home, in registry order. */
export function meshHomes(): readonly MeshHome<MeshId>[] {
  return HOMES;
}

/** An adapter whose id is known to be a registered mesh. */
export type RegisteredAdapter = MeshAdapter & { readonly id: MeshId };

const ADAPTERS: readonly RegisteredAdapter[] = HOMES.map((home) => {
  // A home whose adapter names another mesh is a bug in that home.
  if (home.adapter.id !== home.id)
    throw new Error(`mesh home ${home.id} holds adapter ${home.adapter.id}`);
  return home.adapter as RegisteredAdapter;
});

/** The adapter of one mesh. */
export function meshAdapter(id: MeshId): RegisteredAdapter {
  return meshHomeOf(id).adapter as RegisteredAdapter;
}

/** Every adapter, in the order of `MESH_IDS`. */
export function meshAdapters(): readonly RegisteredAdapter[] {
  return ADAPTERS;
}

/** Each distinct routing once (Linkerd and Kuma share Gateway API's). */
export const MESH_ROUTINGS: readonly MeshRouting[] = [...new Set(HOMES.map((h) => h.routing))];

/** The route kinds that carry weights (CONTRACT §3), each with its reader: SMI, then each home's. */
export const ROUTE_KINDS: readonly RouteKind[] = [
  TRAFFIC_SPLIT_ROUTE_KIND,
  ...MESH_ROUTINGS.flatMap((routing) => routing.routeKinds),
  ...(HOMES as readonly MeshHome[]).flatMap((home) => home.routeKinds ?? []),
  // Knative Serving is no mesh, but its traffic blocks carry weights like any route.
  ...KNATIVE_ROUTE_KINDS,
];

/** The writer of each mesh's native routing objects (CONTRACT §7). */
export const WRITERS = Object.fromEntries(
  HOMES.map((home) => [home.id, home.routing.writer]),
) as Readonly<Record<MeshId, Writer>>;

/** Every kind a writer produces (routes, then prerequisites), once each, in registry order. */
export const WRITTEN_KINDS: readonly GroupVersionKind[] = MESH_ROUTINGS.flatMap((routing) => [
  routing.writer.produces,
  ...(routing.writer.alsoProduces ?? []),
]).filter(
  (gvk, i, all) =>
    all.findIndex(
      (o) => o.group === gvk.group && o.version === gvk.version && o.kind === gvk.kind,
    ) === i,
);

/**
 * Each written kind (by group and kind) with every version some writer can write it in, most
 * preferred first: a writer's `versions` for the kind's group, else the kind's own version.
 */
export const WRITTEN_KIND_VERSIONS: readonly {
  readonly group: string;
  readonly kind: string;
  readonly versions: readonly string[];
}[] = writtenKindVersions();

function writtenKindVersions(): { group: string; kind: string; versions: string[] }[] {
  const out: { group: string; kind: string; versions: string[] }[] = [];
  for (const { writer } of MESH_ROUTINGS)
    for (const gvk of [writer.produces, ...(writer.alsoProduces ?? [])]) {
      const versions = writer.versions?.[gvk.group] ?? [gvk.version];
      const known = out.find((o) => o.group === gvk.group && o.kind === gvk.kind);
      if (!known) out.push({ group: gvk.group, kind: gvk.kind, versions: [...versions] });
      else for (const v of versions) if (!known.versions.includes(v)) known.versions.push(v);
    }
  return out;
}

/** Kinds whose existing objects writers consult (a ServiceDefaults, a VirtualNode), once each. */
export const CONSULTED_KINDS: readonly ConsultedKind[] = MESH_ROUTINGS.flatMap(
  (routing) => routing.writer.consults ?? [],
).filter((k, i, all) => all.findIndex((o) => o.group === k.group && o.kind === k.kind) === i);
