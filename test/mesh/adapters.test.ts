import { describe, expect, it } from 'vitest';
import { matchesNamePattern } from '../../src/mesh/adapter.js';
import { MESH_IDS } from '../../src/mesh/ids.js';
import { meshAdapter, meshAdapters } from '../../src/mesh/registry.js';

/** CONTRACT §5, the injection marker table, copied by hand. */
const CONTRACT_MARKERS = {
  istio: { on: 'label', key: 'sidecar.istio.io/inject', value: 'true' },
  linkerd: { on: 'annotation', key: 'linkerd.io/inject', value: 'enabled' },
  consul: { on: 'annotation', key: 'consul.hashicorp.com/connect-inject', value: 'true' },
  appmesh: { on: 'annotation', key: 'appmesh.k8s.aws/sidecarInjectorWebhook', value: 'enabled' },
  kuma: { on: 'label', key: 'kuma.io/sidecar-injection', value: 'enabled' },
  osm: { on: 'annotation', key: 'openservicemesh.io/sidecar-injection', value: 'enabled' },
} as const;

describe('mesh adapters', () => {
  it('has one adapter per mesh id, under its own id', () => {
    expect(meshAdapters().map((a) => a.id)).toEqual([...MESH_IDS]);
    for (const id of MESH_IDS) expect(meshAdapter(id).id).toBe(id);
  });

  it.each(Object.entries(CONTRACT_MARKERS))('%s carries the marker of CONTRACT §5', (id, want) => {
    const marker = meshAdapter(id as keyof typeof CONTRACT_MARKERS).injection?.marker;
    expect(marker).toMatchObject(want);
  });

  it('gloo and gateway-api inject nothing', () => {
    expect(meshAdapter('gloo').injection).toBeUndefined();
    expect(meshAdapter('gateway-api').injection).toBeUndefined();
  });

  it('keeps the opt-out values of CONTRACT §5 ("false", disabled) as opt-outs', () => {
    expect(meshAdapter('istio').injection?.marker.optOutValues).toContain('false');
    expect(meshAdapter('consul').injection?.marker.optOutValues).toContain('false');
    for (const id of ['linkerd', 'appmesh', 'kuma', 'osm'] as const)
      expect(meshAdapter(id).injection?.marker.optOutValues).toContain('disabled');
  });

  it('never lists the written value, or an opt-in value, as an opt-out', () => {
    for (const adapter of meshAdapters()) {
      const marker = adapter.injection?.marker;
      if (!marker) continue;
      const optOut = new Set(marker.optOutValues.map((v) => v.toLowerCase()));
      expect(optOut.has(marker.value.toLowerCase()), adapter.id).toBe(false);
      for (const v of marker.optInValues)
        expect(optOut.has(v.toLowerCase()), adapter.id).toBe(false);
    }
  });

  it('honours an opt-out written in the other metadata map', () => {
    const istio = meshAdapter('istio').injection!;
    expect(istio.podOptOuts).toContainEqual({
      on: 'annotation',
      key: 'sidecar.istio.io/inject',
      values: istio.marker.optOutValues,
    });
    const linkerd = meshAdapter('linkerd').injection!;
    expect(linkerd.podOptOuts[0]).toMatchObject({ on: 'label', key: 'linkerd.io/inject' });
  });

  it('holds the detection facts of the notes (§3.2)', () => {
    expect(meshAdapter('istio').detection.crds).toContain('virtualservices.networking.istio.io');
    expect(meshAdapter('istio').detection.webhookEntries).toContain('*.sidecar-injector.istio.io');
    expect(meshAdapter('linkerd').detection.webhookEntries).toEqual([
      'linkerd-proxy-injector.linkerd.io',
    ]);
    expect(meshAdapter('linkerd').detection.controlPlane.map((d) => d.name)).toContain(
      'linkerd-destination',
    );
    expect(meshAdapter('appmesh').detection.webhookEntries).toEqual(['mpod.appmesh.k8s.aws']);
    expect(meshAdapter('consul').detection.crds).toContain('servicesplitters.consul.hashicorp.com');
    expect(meshAdapter('kuma').detection.crdGroups).toEqual(['kuma.io']);
    expect(meshAdapter('osm').detection.webhookEntries).toEqual(['osm-inject.k8s.io']);
    expect(meshAdapter('gloo').detection.crds).toContain('upstreams.gloo.solo.io');
    expect(meshAdapter('gateway-api').detection.crds).toEqual([
      'httproutes.gateway.networking.k8s.io',
    ]);
    // Every mesh with a sidecar has an injector webhook entry to look for.
    for (const adapter of meshAdapters())
      if (adapter.injection)
        expect(adapter.detection.webhookEntries.length, adapter.id).toBeGreaterThan(0);
  });

  it('matches the detection patterns against the names real installs use', () => {
    const entry = (id: Parameters<typeof meshAdapter>[0], name: string) =>
      meshAdapter(id).detection.webhookEntries.some((p) => matchesNamePattern(p, name));
    expect(entry('istio', 'rev.namespace.sidecar-injector.istio.io')).toBe(true);
    expect(entry('istio', 'namespace.sidecar-injector.istio.io')).toBe(true);
    expect(entry('istio', 'validation.istio.io')).toBe(false);
    expect(entry('consul', 'consul-connect-injector.consul.hashicorp.com')).toBe(true);
    expect(entry('kuma', 'owned-kuma-injector.kuma.io')).toBe(true);
    expect(entry('kuma', 'kuma-injector.kuma.io')).toBe(true);
    const deployment = (id: Parameters<typeof meshAdapter>[0], name: string) =>
      meshAdapter(id).detection.controlPlane.some((d) => matchesNamePattern(d.name, name));
    expect(deployment('istio', 'istiod')).toBe(true);
    expect(deployment('istio', 'istiod-1-22')).toBe(true);
    expect(deployment('istio', 'istio-ingressgateway')).toBe(false);
    expect(deployment('appmesh', 'appmesh-controller')).toBe(true);
    expect(deployment('consul', 'consul-connect-injector')).toBe(true);
  });
});

describe('matchesNamePattern', () => {
  it.each([
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['a*', 'a', true],
    ['*c', 'abc', true],
    ['a*c', 'ac', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['*', '', true],
    ['**', 'x', true],
  ])('%s against %s is %s', (pattern, name, want) => {
    expect(matchesNamePattern(pattern, name)).toBe(want);
  });
});
