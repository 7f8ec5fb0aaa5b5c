import type { MeshAdapter } from './adapter.js';
import { appmeshAdapter } from './appmesh.js';
import { consulAdapter } from './consul.js';
import { gatewayApiAdapter } from './gateway-api.js';
import { glooAdapter } from './gloo.js';
import { MESH_IDS, type MeshId } from './ids.js';
import { istioAdapter } from './istio.js';
import { kumaAdapter } from './kuma.js';
import { linkerdAdapter } from './linkerd.js';
import { osmAdapter } from './osm.js';

const ADAPTERS: Readonly<Record<MeshId, MeshAdapter>> = {
  istio: istioAdapter,
  linkerd: linkerdAdapter,
  consul: consulAdapter,
  appmesh: appmeshAdapter,
  kuma: kumaAdapter,
  osm: osmAdapter,
  gloo: glooAdapter,
  'gateway-api': gatewayApiAdapter,
};

/** The adapter of one mesh. */
export function meshAdapter(id: MeshId): MeshAdapter {
  return ADAPTERS[id];
}

/** Every adapter, in the order of `MESH_IDS`. */
export function meshAdapters(): readonly MeshAdapter[] {
  return MESH_IDS.map((id) => ADAPTERS[id]);
}
