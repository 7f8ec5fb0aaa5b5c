import { familyFlow, gatewayApiRouting } from '../gateway-api/index.js';
import { readHttpRoute } from '../gateway-api/read.js';
import { meshHome } from '../home.js';
import { linkerdAdapter } from './adapter.js';

/**
 * Linkerd routes with Gateway API HTTPRoutes and owns its marker and detection; it also reads its
 * own copy of HTTPRoute (`policy.linkerd.io`, the shape of the Gateway API's), which carries weights.
 */
export const linkerdHome = meshHome({
  id: 'linkerd',
  adapter: linkerdAdapter,
  routing: gatewayApiRouting,
  routeKinds: [
    {
      id: 'linkerd-httproute',
      group: 'policy.linkerd.io',
      kind: 'HTTPRoute',
      versions: ['v1beta1', 'v1beta2', 'v1beta3'],
      read: readHttpRoute,
      flow: familyFlow('http'),
    },
  ],
});
