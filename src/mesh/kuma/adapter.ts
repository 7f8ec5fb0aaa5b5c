import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * Kuma. `kuma.io/sidecar-injection` must be a label (Kuma refuses the annotation form); on a pod
 * it only takes effect when the namespace carries the key too.
 * Facts: kumahq/kuma `pkg/plugins/runtime/k8s/metadata/annotations.go`,
 * `deployments/charts/kuma/templates/cp-webhooks-and-secrets.yaml`.
 */
export const kumaAdapter: MeshAdapter = {
  id: 'kuma',
  displayName: 'Kuma',
  injection: sidecarInjection(
    {
      on: 'label',
      key: 'kuma.io/sidecar-injection',
      value: 'enabled',
      optOutValues: ['disabled', 'false'],
      optInValues: ['true'],
    },
    {
      namespaceOptOuts: [
        { on: 'label', key: 'kuma.io/sidecar-injection', values: ['disabled', 'false'] },
      ],
    },
  ),
  namespaceOptIns: [{ on: 'label', key: 'kuma.io/sidecar-injection', values: ['enabled', 'true'] }],
  controlPlaneNamespaces: ['kuma-system'],
  detection: {
    crds: [],
    crdGroups: ['kuma.io'],
    webhookEntries: ['*kuma-injector.kuma.io'],
    webhookConfigurations: ['*-admission-mutating-webhook-configuration'],
    controlPlane: [{ name: 'kuma-control-plane', usualNamespace: 'kuma-system' }],
  },
};
