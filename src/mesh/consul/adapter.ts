import { sidecarInjection, type MeshAdapter } from '../adapter.js';

/**
 * Consul service mesh. The annotation `consul.hashicorp.com/connect-inject` is read with Go's
 * `strconv.ParseBool`; which namespaces are injected at all is set in the Helm values.
 * Facts: hashicorp/consul-k8s@a507b1d `control-plane/connect-inject/constants`,
 * `charts/consul/templates/connect-inject-mutatingwebhookconfiguration.yaml`.
 */
export const consulAdapter: MeshAdapter = {
  id: 'consul',
  displayName: 'Consul',
  injection: sidecarInjection({
    on: 'annotation',
    key: 'consul.hashicorp.com/connect-inject',
    value: 'true',
    optOutValues: ['false', 'f', '0'],
    optInValues: ['t', '1'],
  }),
  // Consul picks namespaces in its Helm values (connectInject.namespaceSelector, k8sAllowNamespaces),
  // not by a namespace key: a Consul namespace opts in with meshwarden.io/enforce=enabled.
  namespaceOptIns: [],
  controlPlaneNamespaces: ['consul'],
  detection: {
    crds: [
      'servicesplitters.consul.hashicorp.com',
      'serviceresolvers.consul.hashicorp.com',
      'servicedefaults.consul.hashicorp.com',
    ],
    crdGroups: [],
    // `<fullname>-connect-injector.consul.hashicorp.com`; the fullname is the release's.
    webhookEntries: ['*connect-injector.consul.hashicorp.com'],
    webhookConfigurations: ['*-connect-injector'],
    // The chart's fullname is `consul` for a release named consul, else `<release>-consul`.
    controlPlane: [
      { name: 'consul-connect-injector', usualNamespace: 'consul' },
      { name: 'consul-consul-connect-injector', usualNamespace: 'consul' },
    ],
  },
};
