import type { MeshAdapter } from '../adapter.js';

/** Gloo Edge: an Envoy gateway that routes by weight; it injects no sidecar. */
export const glooAdapter: MeshAdapter = {
  id: 'gloo',
  displayName: 'Gloo Edge',
  // No sidecar, so no namespace key: Gloo's upstream namespaces opt in with meshwarden.io/enforce.
  namespaceOptIns: [],
  controlPlaneNamespaces: ['gloo-system'],
  detection: {
    crds: ['virtualservices.gateway.solo.io', 'upstreams.gloo.solo.io'],
    crdGroups: [],
    webhookEntries: [],
    webhookConfigurations: [],
    controlPlane: [{ name: 'gloo', usualNamespace: 'gloo-system' }],
  },
};
