import { describe, expect, it } from 'vitest';
import { controlPlaneOwner, meshOptIn } from '../../src/mesh/namespaces.js';
import { meshAdapters } from '../../src/mesh/registry.js';

describe('namespace opt-ins of the mesh adapters', () => {
  it.each([
    [{ 'istio-injection': 'enabled' }, {}, 'istio'],
    [{ 'istio.io/rev': 'canary-1-22' }, {}, 'istio'],
    [{ 'istio.io/dataplane-mode': 'ambient' }, {}, 'istio'],
    [{}, { 'linkerd.io/inject': 'enabled' }, 'linkerd'],
    [{ 'kuma.io/sidecar-injection': 'enabled' }, {}, 'kuma'],
    [{ 'kuma.io/sidecar-injection': 'true' }, {}, 'kuma'],
    [{ 'appmesh.k8s.aws/sidecarInjectorWebhook': 'enabled' }, {}, 'appmesh'],
    [{ 'openservicemesh.io/monitored-by': 'osm' }, {}, 'osm'],
    [{}, { 'openservicemesh.io/sidecar-injection': 'enabled' }, 'osm'],
  ])('%j / %j opts into %s', (labels, annotations, mesh) => {
    expect(meshOptIn(labels, annotations)?.mesh.id).toBe(mesh);
  });

  it.each([
    [{ 'istio-injection': 'disabled' }, {}],
    [{ 'istio.io/rev': '' }, {}],
    // Linkerd reads the annotation only: the label form opts nothing in.
    [{ 'linkerd.io/inject': 'enabled' }, {}],
    [{}, { 'linkerd.io/inject': 'disabled' }],
    [{ 'kuma.io/sidecar-injection': 'disabled' }, {}],
    [{ 'appmesh.k8s.aws/sidecarInjectorWebhook': 'disabled' }, {}],
    // The pod-level marker on a namespace means nothing to Istio.
    [{ 'sidecar.istio.io/inject': 'true' }, {}],
    [{ 'kubernetes.io/metadata.name': 'monitoring' }, {}],
  ])('%j / %j opts into no mesh', (labels, annotations) => {
    expect(meshOptIn(labels, annotations)).toBeUndefined();
  });

  it('knows nothing about undefined metadata', () => {
    expect(meshOptIn(undefined, undefined)).toBeUndefined();
  });
});

describe('control-plane namespaces of the mesh adapters', () => {
  it.each([
    ['istio-system', 'istio'],
    ['istio-ingress', 'istio'],
    ['linkerd', 'linkerd'],
    ['linkerd-viz', 'linkerd'],
    ['kuma-system', 'kuma'],
    ['consul', 'consul'],
    ['appmesh-system', 'appmesh'],
    ['osm-system', 'osm'],
    ['gloo-system', 'gloo'],
  ])('%s belongs to %s', (namespace, mesh) => {
    expect(controlPlaneOwner(namespace)?.id).toBe(mesh);
  });

  it.each(['default', 'monitoring', 'cert-manager', 'argo-rollouts', 'shop'])(
    '%s is nobody’s control plane',
    (namespace) => {
      expect(controlPlaneOwner(namespace)).toBeUndefined();
    },
  );

  it('includes the usual namespace of every control-plane Deployment the detection knows', () => {
    for (const adapter of meshAdapters())
      for (const deployment of adapter.detection.controlPlane)
        expect(adapter.controlPlaneNamespaces, adapter.id).toContain(deployment.usualNamespace);
  });

  it('gives every mesh with a sidecar and a namespace key a way to opt a namespace in', () => {
    const withOptIn = meshAdapters()
      .filter((a) => a.namespaceOptIns.length > 0)
      .map((a) => a.id);
    expect(withOptIn).toEqual(['istio', 'linkerd', 'appmesh', 'kuma', 'osm']);
  });
});
