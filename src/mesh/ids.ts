/** The meshes meshwarden knows. `gloo` and `gateway-api` route traffic but inject no sidecar. */
export const MESH_IDS = [
  'istio',
  'linkerd',
  'consul',
  'appmesh',
  'kuma',
  'osm',
  'gloo',
  'gateway-api',
] as const;
export type MeshId = (typeof MESH_IDS)[number];

export function isMeshId(value: unknown): value is MeshId {
  return typeof value === 'string' && (MESH_IDS as readonly string[]).includes(value);
}
