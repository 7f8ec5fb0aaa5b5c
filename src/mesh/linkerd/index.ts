import { familyFlow, gatewayApiRouting, gatewayApiVersionDefault } from '../gateway-api/index.js';
import { readHttpRoute } from '../gateway-api/read.js';
import { meshHome } from '../home.js';
import { linkerdAdapter } from './adapter.js';

/**
 * Linkerd routes with Gateway API HTTPRoutes and owns its marker and detection; it also reads its
 * own copy of HTTPRoute (`policy.linkerd.io`, the shape of the Gateway API's), which carries weights.
 * The Gateway API CRDs bundled with Linkerd 2.14 to 2.17 serve HTTPRoute v1beta1 only (bundle
 * v0.7.1, linkerd/linkerd2 charts/linkerd-crds/templates/gateway.networking.k8s.io_httproutes.yaml
 * at stable-2.14.0 and version-2.15 to 2.17; v1 arrives in 2.18), so v1beta1 is written unless a
 * flag or the cluster's discovery says otherwise.
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
  targetVersions: gatewayApiVersionDefault('v1beta1'),
});
