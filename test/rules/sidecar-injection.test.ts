import { describe, expect, it } from 'vitest';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { meshAdapter } from '../../src/mesh/registry.js';
import { admit, setIn, templateMeta, unsetIn, workloadEngine } from '../helpers/workload-engine.js';
import { deployment, makeReview } from '../helpers/reviews.js';

const INJECTING = MESH_IDS.filter((id) => meshAdapter(id).injection !== undefined);
const labelled = { app: 'echo', version: 'v1' };

function mapName(id: MeshId): 'labels' | 'annotations' {
  return meshAdapter(id).injection?.marker.on === 'label' ? 'labels' : 'annotations';
}

function escape(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

describe('sidecar injection marker', () => {
  it.each(INJECTING)(
    '%s: adds its marker with one add and allows the labelled workload',
    async (id) => {
      const { key, value } = meshAdapter(id).injection!.marker;
      const object = deployment('echo-v1', labelled, { annotations: { team: 'a' } });
      const result = await admit(workloadEngine({ mesh: id }), makeReview({ object }));
      expect(result.allowed).toBe(true);
      expect(result.patch).toEqual([
        {
          op: 'add',
          path:
            mapName(id) === 'labels'
              ? `/spec/template/metadata/labels/${escape(key)}`
              : `/spec/template/metadata/annotations/${escape(key)}`,
          value,
        },
      ]);
      expect(templateMeta(result.patched, mapName(id))?.[key]).toBe(value);
      expect(result.secondPatch).toEqual([]);
    },
  );

  it.each(INJECTING)('%s: creates a missing map with one add of the whole map', async (id) => {
    const { key, value } = meshAdapter(id).injection!.marker;
    // Labels on the template (needed for the selector) but no annotations map, or the reverse.
    const object = deployment('echo-v1', mapName(id) === 'labels' ? null : labelled);
    const result = await admit(workloadEngine({ mesh: id }), makeReview({ object }));
    expect(result.patch).toEqual([
      { op: 'add', path: `/spec/template/metadata/${mapName(id)}`, value: { [key]: value } },
    ]);
    expect(result.secondPatch).toEqual([]);
  });

  it.each(INJECTING)('%s: creates template metadata when there is none', async (id) => {
    const { key, value } = meshAdapter(id).injection!.marker;
    const object = unsetIn(deployment('echo-v1', null), ['spec', 'template', 'metadata']);
    const result = await admit(workloadEngine({ mesh: id }), makeReview({ object }));
    expect(result.patch).toEqual([
      { op: 'add', path: '/spec/template/metadata', value: { [mapName(id)]: { [key]: value } } },
    ]);
    expect(result.secondPatch).toEqual([]);
  });

  it('replaces a null labels map (as YAML `labels:` reads) instead of adding into it', async () => {
    const object = setIn(
      deployment('echo-v1', null),
      ['spec', 'template', 'metadata', 'labels'],
      null,
    );
    const result = await admit(workloadEngine({ mesh: 'istio' }), makeReview({ object }));
    expect(result.patch).toEqual([
      {
        op: 'replace',
        path: '/spec/template/metadata/labels',
        value: { 'sidecar.istio.io/inject': 'true' },
      },
    ]);
  });

  describe('opt-outs and existing values are kept', () => {
    const cases = INJECTING.flatMap((id) =>
      meshAdapter(id).injection!.marker.optOutValues.flatMap((v) => [
        [id, v] as const,
        [id, v.toUpperCase()] as const,
      ]),
    );
    it.each(cases)('%s: %s', async (id, optOut) => {
      const { key } = meshAdapter(id).injection!.marker;
      const map = mapName(id);
      const object = deployment(
        'echo-v1',
        map === 'labels' ? { ...labelled, [key]: optOut } : labelled,
        {
          ...(map === 'annotations' ? { annotations: { [key]: optOut } } : {}),
        },
      );
      const result = await admit(workloadEngine({ mesh: id }), makeReview({ object }));
      expect(result.patch).toEqual([]);
      expect(result.allowed).toBe(true);
    });

    it.each(INJECTING)('%s: an opt-out in the other metadata map is honoured', async (id) => {
      const { key, optOutValues } = meshAdapter(id).injection!.marker;
      const other = mapName(id) === 'labels' ? 'annotations' : 'labels';
      const object = deployment(
        'echo-v1',
        other === 'labels' ? { ...labelled, [key]: optOutValues[0]! } : labelled,
        other === 'annotations' ? { annotations: { [key]: optOutValues[0]! } } : {},
      );
      const result = await admit(workloadEngine({ mesh: id }), makeReview({ object }));
      expect(result.patch).toEqual([]);
    });

    it('keeps an equivalent opt-in value (Linkerd ingress mode, Kuma true)', async () => {
      const linkerd = deployment('echo-v1', labelled, {
        annotations: { 'linkerd.io/inject': 'ingress' },
      });
      expect(
        (await admit(workloadEngine({ mesh: 'linkerd' }), makeReview({ object: linkerd }))).patch,
      ).toEqual([]);
      const kuma = deployment('echo-v1', { ...labelled, 'kuma.io/sidecar-injection': 'true' });
      expect(
        (await admit(workloadEngine({ mesh: 'kuma' }), makeReview({ object: kuma }))).patch,
      ).toEqual([]);
    });

    it('puts the marker value in place of a value the injector would not read as "inject"', async () => {
      // Linkerd reads `Enabled` as an invalid value, i.e. no injection.
      const object = deployment('echo-v1', labelled, {
        annotations: { 'linkerd.io/inject': 'Enabled' },
      });
      const result = await admit(workloadEngine({ mesh: 'linkerd' }), makeReview({ object }));
      expect(result.patch).toEqual([
        {
          op: 'replace',
          path: '/spec/template/metadata/annotations/linkerd.io~1inject',
          value: 'enabled',
        },
      ]);
      expect(result.secondPatch).toEqual([]);
    });

    it('leaves an Istio ambient-mode pod without a sidecar marker', async () => {
      const object = deployment('echo-v1', { ...labelled, 'istio.io/dataplane-mode': 'ambient' });
      const result = await admit(workloadEngine({ mesh: 'istio' }), makeReview({ object }));
      expect(result.patch).toEqual([]);
    });

    it.each([
      ['istio', 'istio-injection', 'disabled'],
      ['istio', 'istio.io/dataplane-mode', 'ambient'],
      ['kuma', 'kuma.io/sidecar-injection', 'disabled'],
      ['appmesh', 'appmesh.k8s.aws/sidecarInjectorWebhook', 'disabled'],
      ['linkerd', 'config.linkerd.io/admission-webhooks', 'disabled'],
    ] as const)('%s: a namespace labelled %s=%s gets no marker', async (mesh, key, value) => {
      // workloadScope: all, so that the rules enforce whatever the namespace says.
      const engine = workloadEngine(
        { mesh, workloadScope: 'all' },
        { namespaceLabels: { shop: { [key]: value } } },
      );
      const object = deployment('echo-v1', labelled, { namespace: 'shop' });
      const result = await admit(engine, makeReview({ object }));
      expect(result.patch).toEqual([]);
      // The same namespace with the mesh enabled gets it.
      const on = workloadEngine(
        { mesh, workloadScope: 'all' },
        { namespaceLabels: { shop: { [key]: 'enabled' } } },
      );
      expect((await admit(on, makeReview({ object }))).patch).toHaveLength(1);
    });
  });

  it.each(['gloo', 'gateway-api'] as const)('%s adds nothing', async (mesh) => {
    const result = await admit(
      workloadEngine({ mesh }),
      makeReview({ object: deployment('echo-v1', labelled) }),
    );
    expect(result.patch).toEqual([]);
    expect(result.allowed).toBe(true);
  });

  it('adds nothing when sidecarInjection.enabled is false', async () => {
    const engine = workloadEngine({ mesh: 'istio', sidecarInjection: { enabled: false } });
    const result = await admit(engine, makeReview({ object: deployment('echo-v1', labelled) }));
    expect(result.patch).toEqual([]);
  });

  it('uses the mesh in force: namespace label, then policy, then detected, then fallback', async () => {
    const object = deployment('echo-v1', labelled, { namespace: 'shop' });
    const key = (r: Awaited<ReturnType<typeof admit>>) => r.patch[0]?.path;
    const byLabel = workloadEngine(
      { mesh: 'istio', workloadScope: 'all' },
      { namespaceLabels: { shop: { 'meshwarden.io/mesh': 'linkerd' } } },
    );
    expect(key(await admit(byLabel, makeReview({ object })))).toBe(
      '/spec/template/metadata/annotations',
    );
    const auto = workloadEngine({ mesh: 'auto', fallbackMesh: 'kuma' });
    expect(key(await admit(auto, makeReview({ object })))).toBe(
      '/spec/template/metadata/labels/kuma.io~1sidecar-injection',
    );
    const detected = workloadEngine({ mesh: 'auto' }, { mesh: 'osm' });
    expect(key(await admit(detected, makeReview({ object })))).toBe(
      '/spec/template/metadata/annotations',
    );
  });

  it.each(['StatefulSet', 'DaemonSet'])('marks %s pod templates too', async (kind) => {
    const object = { ...deployment('echo-v1', labelled), kind };
    const result = await admit(workloadEngine({ mesh: 'istio' }), makeReview({ object }));
    expect(result.patch).toHaveLength(1);
    expect(result.allowed).toBe(true);
  });

  it('leaves other kinds and versions alone', async () => {
    const engine = workloadEngine({ mesh: 'istio' });
    const old = { ...deployment('echo-v1', { app: 'echo' }), apiVersion: 'extensions/v1beta1' };
    const rs = { ...deployment('echo-v1', { app: 'echo' }), kind: 'ReplicaSet' };
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { template: { spec: {} } },
    };
    for (const object of [old, rs, job]) {
      const result = await admit(engine, makeReview({ object }));
      expect(result.patch).toEqual([]);
      expect(result.allowed).toBe(true);
    }
  });

  it('leaves excluded namespaces and namespaces labelled meshwarden.io/enforce=disabled alone', async () => {
    const inSystem = deployment('echo-v1', { app: 'echo' }, { namespace: 'kube-system' });
    const system = await admit(workloadEngine({ mesh: 'istio' }), makeReview({ object: inSystem }));
    expect(system.patch).toEqual([]);
    expect(system.allowed).toBe(true);
    const off = workloadEngine(
      { mesh: 'istio' },
      { allNamespaceLabels: { 'meshwarden.io/enforce': 'disabled' } },
    );
    const optedOut = await admit(
      off,
      makeReview({ object: deployment('echo-v1', { app: 'echo' }) }),
    );
    expect(optedOut.patch).toEqual([]);
    expect(optedOut.allowed).toBe(true);
  });

  it('sends no patch on DELETE', async () => {
    const object = deployment('echo-v1', labelled);
    const result = await admit(
      workloadEngine({ mesh: 'istio' }),
      makeReview({ object: null, oldObject: object, operation: 'DELETE' }),
    );
    expect(result.patch).toEqual([]);
    expect(result.allowed).toBe(true);
  });

  it('marks on UPDATE too, with the same single add', async () => {
    const old = deployment('echo-v1', labelled);
    const object = deployment('echo-v1', labelled, { annotations: { rollout: '2' } });
    const result = await admit(
      workloadEngine({ mesh: 'istio' }),
      makeReview({ object, oldObject: old }),
    );
    expect(result.patch).toHaveLength(1);
    expect(result.allowed).toBe(true);
  });
});
