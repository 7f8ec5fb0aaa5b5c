import type { FlowReader } from '../../traffic/read-common.js';
import { meshHome, type MeshRouting } from '../home.js';
import { gatewayApiAdapter } from './adapter.js';
import { gatewayRouteFlow, type GatewayRouteFamily } from './flow.js';
import { readHttpRoute } from './read.js';
import { GATEWAY_API_GROUP, gatewayApiWriter } from './write.js';

const GROUP = GATEWAY_API_GROUP;

/** Gateway API versions to write by default, for a mesh whose bundled CRDs lag (Linkerd). */
export function gatewayApiVersionDefault(version: 'v1' | 'v1beta1'): Record<string, string> {
  return { [GROUP]: version };
}

/** The flow reader of one family of Gateway API routes (they share HTTPRoute's rules). */
export function familyFlow(family: GatewayRouteFamily): FlowReader {
  return (object, splits, errors, namespace) =>
    gatewayRouteFlow(object, splits, errors, namespace, family);
}

/** Gateway API routing (GAMMA), also the routing of the meshes that implement it. */
export const gatewayApiRouting: MeshRouting = {
  home: 'gateway-api',
  routeKinds: [
    {
      id: 'gateway-httproute',
      group: GROUP,
      kind: 'HTTPRoute',
      versions: ['v1', 'v1beta1'],
      read: readHttpRoute,
      flow: familyFlow('http'),
    },
    {
      id: 'gateway-grpcroute',
      group: GROUP,
      kind: 'GRPCRoute',
      versions: ['v1'],
      read: readHttpRoute,
      flow: familyFlow('grpc'),
    },
    ...(['TCPRoute', 'TLSRoute', 'UDPRoute'] as const).map((kind) => ({
      id: `gateway-${kind.toLowerCase()}`,
      group: GROUP,
      kind,
      versions: ['v1alpha2'],
      read: readHttpRoute,
      flow: familyFlow(kind === 'TCPRoute' ? 'tcp' : kind === 'TLSRoute' ? 'tls' : 'udp'),
    })),
  ],
  writer: gatewayApiWriter,
  explainUnread: (what, group) =>
    group === GROUP
      ? `${what} is not a route kind meshwarden reads; of the Gateway API it reads HTTPRoute v1 and v1beta1, GRPCRoute v1, and TCPRoute, TLSRoute and UDPRoute v1alpha2`
      : undefined,
};

export const gatewayApiHome = meshHome({
  id: 'gateway-api',
  adapter: gatewayApiAdapter,
  routing: gatewayApiRouting,
});
