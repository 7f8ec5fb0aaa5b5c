import { meshHome, type MeshRouting } from '../home.js';
import { gatewayApiAdapter } from './adapter.js';
import { readHttpRoute } from './read.js';
import { gatewayApiWriter } from './write.js';

const GROUP = 'gateway.networking.k8s.io';

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
    },
  ],
  writer: gatewayApiWriter,
  explainUnread: (what, group) =>
    group === GROUP
      ? `${what} is not a route kind meshwarden reads; of the Gateway API it reads HTTPRoute v1 and v1beta1`
      : undefined,
};

export const gatewayApiHome = meshHome({
  id: 'gateway-api',
  adapter: gatewayApiAdapter,
  routing: gatewayApiRouting,
});
