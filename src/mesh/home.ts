import type { RouteKind } from '../traffic/read-common.js';
import type { Writer } from '../traffic/write-common.js';
import type { MeshAdapter } from './adapter.js';

/**
 * How a mesh's traffic is routed: the route kinds its users write (each with its reader) and the
 * writer translation uses. Several meshes can share one (Linkerd and Kuma route with Gateway API).
 */
export interface MeshRouting {
  /** The home that holds these readers and this writer: `src/mesh/<home>/`. */
  readonly home: string;
  readonly routeKinds: readonly RouteKind[];
  readonly writer: Writer;
  /**
   * A clearer reason than "not a kind meshwarden reads" for an object of this routing's API groups
   * that carries no weights meshwarden reads; `what` names the object's version and kind.
   */
  readonly explainUnread?: (what: string, group: string, kind: string) => string | undefined;
}

/** Everything meshwarden knows about one mesh, from its folder `src/mesh/<id>/`. */
export interface MeshHome<Id extends string = string> {
  readonly id: Id;
  /** Marker and detection; `adapter.id` equals `id`. */
  readonly adapter: MeshAdapter;
  readonly routing: MeshRouting;
  /** Route kinds of the mesh's own API beyond its (possibly shared) routing's, read the same way. */
  readonly routeKinds?: readonly RouteKind[];
  /** Versions to write per API group when neither a flag nor the cluster says (Linkerd's bundles). */
  readonly targetVersions?: Readonly<Record<string, string>>;
}

/** Declares a home, keeping its id as a literal type (the registry derives `MeshId` from it). */
export function meshHome<const Id extends string>(home: MeshHome<Id>): MeshHome<Id> {
  return home;
}
