import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import type { MeshId } from '../../src/mesh/ids.js';
import { translateTrafficSplit } from '../../src/translation/translate.js';
import { messageOf, sa, trustEngine, validateAs } from '../helpers/controllers.js';

const CONTROLLER = 'meshwarden-system/meshwarden';
const controller = sa('meshwarden-system', 'meshwarden');
const service = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'test' },
  spec: { ports: [{ name: 'http', port: 9898 }], selector: { app: name } },
});
const services = ['podinfo', 'podinfo-primary', 'podinfo-canary'].map(service);

/** The TrafficSplit Flagger's SMI router keeps (pkg/router/smi_v1alpha3.go), as stored. */
const split = (primary: number, canary: number, uid = 'ts-1'): KubeObject => ({
  apiVersion: 'split.smi-spec.io/v1alpha3',
  kind: 'TrafficSplit',
  metadata: { name: 'podinfo', namespace: 'test', uid },
  spec: {
    service: 'podinfo',
    backends: [
      { service: 'podinfo-canary', weight: canary },
      { service: 'podinfo-primary', weight: primary },
    ],
  },
});

/** What the reconciler applies for a split: its translation, labelled and owned (ownedCopy). */
function written(from: KubeObject, mesh: MeshId): KubeObject {
  const result = translateTrafficSplit(from, mesh, { services });
  if (!result.ok) throw new Error(result.error);
  const object = structuredClone(result.objects[0]!);
  object.metadata = {
    ...object.metadata,
    namespace: 'test',
    labels: { ...object.metadata?.labels, 'app.kubernetes.io/managed-by': 'meshwarden' },
    ownerReferences: [
      {
        apiVersion: from.apiVersion!,
        kind: 'TrafficSplit',
        name: 'podinfo',
        uid: from.metadata!.uid!,
        controller: true,
      },
    ],
  };
  return object;
}

describe("meshwarden's own controller", () => {
  for (const mesh of ['istio', 'gateway-api'] as const) {
    it(`${mesh}: writes the translation of Flagger's SMI promotion (40/60 -> 100/0)`, async () => {
      const e = trustEngine(
        { trafficSplits: [split(100, 0)], services, controllerServiceAccount: CONTROLLER },
        { mesh },
      );
      const res = await validateAs(
        e,
        written(split(100, 0), mesh),
        written(split(40, 60), mesh),
        controller,
      );
      expect(res.review.response?.allowed, messageOf(res)).toBe(true);
      expect(res.passed?.[0]?.reason).toBe(
        `meshwarden's controller ${CONTROLLER}: the translation of TrafficSplit test/podinfo for ${mesh}`,
      );
    });

    it(`${mesh}: writes the translation of a split changed with an override (0 -> 80)`, async () => {
      const e = trustEngine(
        { trafficSplits: [split(20, 80)], services, controllerServiceAccount: CONTROLLER },
        { mesh },
      );
      const res = await validateAs(
        e,
        written(split(20, 80), mesh),
        written(split(100, 0), mesh),
        controller,
      );
      expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    });

    it(`${mesh}: the same account writing other weights is judged and told why`, async () => {
      const e = trustEngine(
        { trafficSplits: [split(100, 0)], services, controllerServiceAccount: CONTROLLER },
        { mesh },
      );
      const res = await validateAs(
        e,
        written(split(20, 80), mesh),
        written(split(100, 0), mesh),
        controller,
      );
      expect(res.review.response?.allowed).toBe(false);
      expect(messageOf(res)).toContain(
        'its weights are not the translation of TrafficSplit test/podinfo',
      );
    });
  }

  it('needs the cached split with the same uid, its own label, and the flag', async () => {
    const facts = {
      trafficSplits: [split(20, 80, 'ts-2')],
      services,
      controllerServiceAccount: CONTROLLER,
    };
    const object = written(split(20, 80), 'istio');
    const old = written(split(100, 0), 'istio');
    const uid = await validateAs(trustEngine(facts, { mesh: 'istio' }), object, old, controller);
    expect(messageOf(uid)).toContain("has uid ts-1, but that split's uid is ts-2");
    const unlabelled = structuredClone(object);
    delete unlabelled.metadata!.labels!['app.kubernetes.io/managed-by'];
    const res = await validateAs(
      trustEngine({ ...facts, trafficSplits: [split(20, 80)] }, { mesh: 'istio' }),
      unlabelled,
      old,
      controller,
    );
    expect(messageOf(res)).toContain('it writes only objects it owns');
    const noFlag = await validateAs(
      trustEngine({ trafficSplits: [split(20, 80)], services }, { mesh: 'istio' }),
      object,
      old,
      controller,
    );
    expect(noFlag.review.response?.allowed).toBe(false);
    expect(messageOf(noFlag)).toContain('no controller ServiceAccount is configured');
    const person = await validateAs(
      trustEngine({ ...facts, trafficSplits: [split(20, 80)] }, { mesh: 'istio' }),
      object,
      old,
      { username: 'bob', groups: [] },
    );
    expect(messageOf(person)).toContain(
      'the request is from bob, not ServiceAccount meshwarden-system/meshwarden',
    );
  });
});
