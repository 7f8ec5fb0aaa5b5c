import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * Linkerd. The annotation `linkerd.io/inject` takes `enabled`, `disabled` or `ingress`; the
 * injector treats any other value as disabled and skips pods that already carry a sidecar.
 * Facts: linkerd/linkerd2@version-2.20 `pkg/k8s/labels.go`, `pkg/inject/report.go`,
 * `charts/linkerd-control-plane`.
 */
export const linkerdAdapter: MeshAdapter = {
  id: 'linkerd',
  displayName: 'Linkerd',
  injection: sidecarInjection(
    {
      on: 'annotation',
      key: 'linkerd.io/inject',
      value: 'enabled',
      optOutValues: ['disabled'],
      optInValues: ['ingress'],
    },
    {
      // Linkerd's webhook does not look at namespaces labelled so.
      namespaceOptOuts: [
        { on: 'label', key: 'config.linkerd.io/admission-webhooks', values: ['disabled'] },
      ],
    },
  ),
  // The namespace annotation, read by the proxy injector for every pod of the namespace.
  namespaceOptIns: [{ on: 'annotation', key: 'linkerd.io/inject', values: ['enabled', 'ingress'] }],
  controlPlaneNamespaces: [
    'linkerd',
    'linkerd-viz',
    'linkerd-jaeger',
    'linkerd-multicluster',
    'linkerd-smi',
    'linkerd-cni',
  ],
  detection: {
    crds: [
      'serviceprofiles.linkerd.io',
      'servers.policy.linkerd.io',
      'httproutes.policy.linkerd.io',
    ],
    crdGroups: [],
    webhookEntries: ['linkerd-proxy-injector.linkerd.io'],
    webhookConfigurations: ['linkerd-proxy-injector-webhook-config'],
    controlPlane: [
      { name: 'linkerd-destination', usualNamespace: 'linkerd' },
      { name: 'linkerd-proxy-injector', usualNamespace: 'linkerd' },
    ],
  },
};
