import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * AWS App Mesh. The injector webhook only sees namespaces labelled
 * `appmesh.k8s.aws/sidecarInjectorWebhook` (`enabled` or `disabled`); the pod annotation of the
 * same key overrides the namespace's value, so a namespace that said `disabled` gets no marker.
 * Facts: aws/aws-app-mesh-controller-for-k8s@7588d12 `docs/reference/injector.md`,
 * `config/helm/appmesh-controller/templates/webhook.yaml`.
 */
export const appmeshAdapter: MeshAdapter = {
  id: 'appmesh',
  displayName: 'AWS App Mesh',
  injection: sidecarInjection(
    {
      on: 'annotation',
      key: 'appmesh.k8s.aws/sidecarInjectorWebhook',
      value: 'enabled',
      optOutValues: ['disabled'],
      optInValues: [],
    },
    {
      namespaceOptOuts: [
        { on: 'label', key: 'appmesh.k8s.aws/sidecarInjectorWebhook', values: ['disabled'] },
      ],
    },
  ),
  namespaceOptIns: [
    { on: 'label', key: 'appmesh.k8s.aws/sidecarInjectorWebhook', values: ['enabled'] },
  ],
  controlPlaneNamespaces: ['appmesh-system'],
  detection: {
    crds: [
      'meshes.appmesh.k8s.aws',
      'virtualnodes.appmesh.k8s.aws',
      'virtualrouters.appmesh.k8s.aws',
      'virtualservices.appmesh.k8s.aws',
    ],
    crdGroups: [],
    webhookEntries: ['mpod.appmesh.k8s.aws'],
    webhookConfigurations: ['*appmesh-controller-mutating-webhook-configuration'],
    controlPlane: [{ name: 'appmesh-controller', usualNamespace: 'appmesh-system' }],
  },
};
