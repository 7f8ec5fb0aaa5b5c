import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * Open Service Mesh (archived upstream). The annotation `openservicemesh.io/sidecar-injection`
 * takes `enabled`/`yes`/`true` or `disabled`/`no`/`false`, and the pod's value wins over the
 * namespace's. Facts: openservicemesh/osm@7bec5b6 `pkg/injector/webhook.go`,
 * `pkg/constants/constants.go`, `charts/osm/values.yaml`.
 */
export const osmAdapter: MeshAdapter = {
  id: 'osm',
  displayName: 'Open Service Mesh',
  injection: sidecarInjection({
    on: 'annotation',
    key: 'openservicemesh.io/sidecar-injection',
    value: 'enabled',
    optOutValues: ['disabled', 'no', 'false'],
    optInValues: ['yes', 'true'],
  }),
  // `osm namespace add` labels the namespace with the mesh name (and annotates it for injection).
  namespaceOptIns: [
    { on: 'label', key: 'openservicemesh.io/monitored-by' },
    {
      on: 'annotation',
      key: 'openservicemesh.io/sidecar-injection',
      values: ['enabled', 'yes', 'true'],
    },
  ],
  controlPlaneNamespaces: ['osm-system'],
  detection: {
    crds: ['meshconfigs.config.openservicemesh.io'],
    crdGroups: [],
    webhookEntries: ['osm-inject.k8s.io'],
    webhookConfigurations: ['osm-webhook-*'],
    controlPlane: [
      { name: 'osm-controller', usualNamespace: 'osm-system', imageContains: ['osm-controller'] },
    ],
  },
};
