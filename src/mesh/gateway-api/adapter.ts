import type { MeshAdapter } from '../adapter.js';

/**
 * Gateway API (GAMMA) routing with no particular mesh: no sidecar marker. Its CRDs are weak
 * evidence on their own, since Linkerd and others install them too.
 */
export const gatewayApiAdapter: MeshAdapter = {
  id: 'gateway-api',
  displayName: 'Gateway API',
  namespaceOptIns: [],
  controlPlaneNamespaces: [],
  detection: {
    crds: ['httproutes.gateway.networking.k8s.io'],
    crdGroups: [],
    webhookEntries: [],
    webhookConfigurations: [],
    controlPlane: [],
  },
};
