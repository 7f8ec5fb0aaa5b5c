import type { MeshId } from '../../mesh/ids.js';
import { appMeshWriter } from './appmesh.js';
import type { Writer } from './common.js';
import { consulWriter } from './consul.js';
import { gatewayApiWriter } from './gateway-api.js';
import { glooWriter } from './gloo.js';
import { istioWriter } from './istio.js';
import { osmWriter } from './osm.js';

export type { ServicePort, Writer, WriterInput, WriterResult } from './common.js';

/** The writer of each mesh's native routing objects (CONTRACT §7). */
export const WRITERS: Readonly<Record<MeshId, Writer>> = {
  istio: istioWriter,
  linkerd: gatewayApiWriter,
  kuma: gatewayApiWriter,
  'gateway-api': gatewayApiWriter,
  consul: consulWriter,
  appmesh: appMeshWriter,
  gloo: glooWriter,
  osm: osmWriter,
};
