import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * Istio. The per-pod switch is the label `sidecar.istio.io/inject` (the annotation form is
 * deprecated); Istio injects for `y`, `yes`, `true`, `on` and skips any other non-empty value.
 * Facts: istio/api@1.30.3 `label/labels.yaml`, istio/istio@86c9f01 istio-discovery templates.
 */
export const istioAdapter: MeshAdapter = {
  id: 'istio',
  displayName: 'Istio',
  injection: sidecarInjection(
    {
      on: 'label',
      key: 'sidecar.istio.io/inject',
      value: 'true',
      optOutValues: ['false', 'n', 'no', 'off', 'disabled'],
      optInValues: ['y', 'yes', 'on'],
    },
    {
      // An ambient-mode pod must stay sidecar-less: a sidecar takes it out of ambient.
      podOptOuts: [{ on: 'label', key: 'istio.io/dataplane-mode', values: ['ambient'] }],
      namespaceOptOuts: [
        { on: 'label', key: 'istio-injection', values: ['disabled'] },
        { on: 'label', key: 'istio.io/dataplane-mode', values: ['ambient'] },
      ],
    },
  ),
  // Istio injects in namespaces labelled so; ambient namespaces take part in the mesh without a
  // sidecar (the namespace opt-out above keeps the marker off there).
  namespaceOptIns: [
    { on: 'label', key: 'istio-injection', values: ['enabled'] },
    { on: 'label', key: 'istio.io/rev' },
    { on: 'label', key: 'istio.io/dataplane-mode', values: ['ambient'] },
  ],
  // istio-system for istiod; istio-ingress and istio-egress are where Istio's docs install gateways.
  controlPlaneNamespaces: ['istio-system', 'istio-ingress', 'istio-egress'],
  detection: {
    crds: ['virtualservices.networking.istio.io', 'destinationrules.networking.istio.io'],
    crdGroups: ['security.istio.io'],
    // namespace., object., rev.namespace., rev.object.sidecar-injector.istio.io, and the bare name.
    webhookEntries: ['*.sidecar-injector.istio.io', 'sidecar-injector.istio.io'],
    webhookConfigurations: ['istio-sidecar-injector', 'istio-sidecar-injector-*'],
    // `istiod`, or `istiod-<revision>` for a revisioned install; never `istio-ingressgateway`.
    controlPlane: [
      { name: 'istiod', usualNamespace: 'istio-system', imageContains: ['pilot'] },
      { name: 'istiod-*', usualNamespace: 'istio-system', imageContains: ['pilot'] },
    ],
  },
};
