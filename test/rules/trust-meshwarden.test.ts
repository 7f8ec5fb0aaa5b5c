/* eslint-disable @typescript-eslint/no-explicit-any -- the tests dig into untyped manifests */
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
function written(from: KubeObject, mesh: MeshId, known: KubeObject[] = services): KubeObject {
  const result = translateTrafficSplit(from, mesh, { services: known });
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

/** An A/B/n split over two canaries, as a person keeps it (the backends' order as written). */
const abn = (primary: number, a: number, b: number): KubeObject => ({
  apiVersion: 'split.smi-spec.io/v1alpha3',
  kind: 'TrafficSplit',
  metadata: { name: 'podinfo', namespace: 'test', uid: 'ts-1' },
  spec: {
    service: 'podinfo',
    backends: [
      { service: 'podinfo-primary', weight: primary },
      { service: 'podinfo-canary', weight: a },
      { service: 'podinfo-canary-b', weight: b },
    ],
  },
});
const abnServices = [...services, service('podinfo-canary-b')];

const writtenAbn = (from: KubeObject, mesh: MeshId) => written(from, mesh, abnServices);

/**
 * The split is where a spread is judged (weightShift.maxTotalStepWeight); the controller only
 * writes what an admitted split says, so the limit on several canaries never stalls it.
 */
describe("meshwarden's own controller: a split over several canaries", () => {
  for (const mesh of ['istio', 'gateway-api'] as const) {
    it(`${mesh}: writes a 50/25/25 split admitted with an override; a person writing the same is told the total`, async () => {
      const facts = {
        trafficSplits: [abn(50, 25, 25)],
        services: abnServices,
        controllerServiceAccount: CONTROLLER,
      };
      const object = writtenAbn(abn(50, 25, 25), mesh);
      const old = writtenAbn(abn(100, 0, 0), mesh);
      const own = await validateAs(trustEngine(facts, { mesh }), object, old, controller);
      expect(own.review.response?.allowed, messageOf(own)).toBe(true);
      const person = await validateAs(trustEngine(facts, { mesh }), object, old, {
        username: 'bob',
        groups: [],
      });
      expect(person.review.response?.allowed).toBe(false);
      expect(messageOf(person)).toContain(
        '2 backends other than the stable one would together gain +50 points',
      );
      expect(messageOf(person)).toContain('(maxTotalStepWeight)');
    });

    it(`${mesh}: a person's 80/10/10 step of the native object passes (+20 together)`, async () => {
      const facts = { trafficSplits: [abn(80, 10, 10)], services: abnServices };
      const res = await validateAs(
        trustEngine(facts, { mesh }),
        writtenAbn(abn(80, 10, 10), mesh),
        writtenAbn(abn(100, 0, 0), mesh),
        { username: 'bob', groups: [] },
      );
      expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    });
  }
});

/**
 * The reconciler translates from the watch caches: every Service and every mesh object of the
 * namespace, complete (controller/runtime.ts). The guard must translate the same way, or the
 * controller's own writes (per-backend ports, backends left out, the user's VirtualNodes,
 * relative weights) would not match and be judged as a person's edit.
 */
describe("meshwarden's own controller: translations that depend on the cluster", () => {
  const port = (name: string, number: number, selector: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'test' },
    spec: { ports: [{ name: 'http', port: number, targetPort: 8080 }], selector },
  });
  const cluster = [
    port('podinfo', 9898, { app: 'podinfo' }),
    port('podinfo-primary', 9898, { app: 'podinfo-primary' }),
    port('podinfo-canary', 8080, { app: 'podinfo-canary' }),
  ];
  const threeWay = (primary = 500, canary = 1): KubeObject => ({
    apiVersion: 'split.smi-spec.io/v1alpha4',
    kind: 'TrafficSplit',
    metadata: { name: 'podinfo', namespace: 'test', uid: 'ts-1' },
    spec: {
      service: 'podinfo',
      backends: [
        { service: 'podinfo-primary', weight: primary },
        { service: 'podinfo-canary', weight: canary },
        // No such Service in the cluster: the reconciler leaves it out.
        { service: 'podinfo-gone', weight: 10 },
      ],
    },
  });
  /** The translation before the split moved to 500:1 (all on the primary, a 100% step back). */
  const before = (mesh: MeshId, kind: string, existing: KubeObject[] = []) =>
    applied(threeWay(0, 1), mesh, kind, existing);
  /** What the reconciler applies: the translation from the caches, labelled and owned. */
  const applied = (
    from: KubeObject,
    mesh: MeshId,
    kind: string,
    existing: KubeObject[] = [],
  ): KubeObject => {
    const result = translateTrafficSplit(from, mesh, {
      services: cluster,
      existing,
      complete: true,
    });
    if (!result.ok) throw new Error(result.error);
    const object = structuredClone(result.objects.find((o) => o.kind === kind)!);
    object.metadata = {
      ...object.metadata,
      labels: { ...object.metadata?.labels, 'app.kubernetes.io/managed-by': 'meshwarden' },
    };
    return object;
  };
  const engine = (mesh: MeshId, objects: KubeObject[] = []) =>
    trustEngine(
      {
        trafficSplits: [threeWay()],
        services: cluster,
        objects,
        complete: true,
        controllerServiceAccount: CONTROLLER,
      },
      { mesh },
    );

  for (const mesh of ['gateway-api', 'linkerd', 'istio', 'gloo', 'appmesh', 'consul'] as const) {
    it(`${mesh}: per-backend ports, relative weights and a missing backend pass as the translation`, async () => {
      const kind = {
        'gateway-api': 'HTTPRoute',
        linkerd: 'HTTPRoute',
        istio: 'VirtualService',
        gloo: 'RouteTable',
        appmesh: 'VirtualRouter',
        consul: 'ServiceSplitter',
      }[mesh];
      const object = applied(threeWay(), mesh, kind);
      const res = await validateAs(engine(mesh), object, before(mesh, kind), controller);
      expect(res.review.response?.allowed, messageOf(res)).toBe(true);
      expect(res.passed?.[0]?.reason).toBe(
        `meshwarden's controller ${CONTROLLER}: the translation of TrafficSplit test/podinfo for ${mesh}`,
      );
    });
  }

  it('gateway-api: the exact relative weights and the backend port are what passes', async () => {
    const object = applied(threeWay(), 'gateway-api', 'HTTPRoute');
    expect((object.spec as any).rules[0].backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'podinfo-primary', port: 9898, weight: 500 },
      { group: '', kind: 'Service', name: 'podinfo-canary', port: 8080, weight: 1 },
    ]);
    const tampered = structuredClone(object);
    (tampered.spec as any).rules[0].backendRefs[1].weight = 500;
    const res = await validateAs(
      engine('gateway-api'),
      tampered,
      before('gateway-api', 'HTTPRoute'),
      controller,
    );
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain(
      'its weights are not the translation of TrafficSplit test/podinfo',
    );
  });

  it("appmesh: a router naming the user's own VirtualNode passes when the cluster has it", async () => {
    const theirs: KubeObject = {
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'VirtualNode',
      metadata: { name: 'podinfo-canary-node', namespace: 'test' },
      spec: { podSelector: { matchLabels: { app: 'podinfo-canary' } } },
    };
    const object = applied(threeWay(), 'appmesh', 'VirtualRouter', [theirs]);
    const targets = (object.spec as any).routes[0].httpRoute.action.weightedTargets;
    expect(targets.map((t: any) => t.virtualNodeRef.name)).toContain('podinfo-canary-node');
    const res = await validateAs(
      engine('appmesh', [theirs]),
      object,
      before('appmesh', 'VirtualRouter', [theirs]),
      controller,
    );
    expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    expect(res.passed?.[0]?.reason).toContain('the translation of TrafficSplit test/podinfo');
  });

  it('the companions (ServiceDefaults, App Mesh VirtualService and VirtualNodes) are admitted', async () => {
    for (const [mesh, kind] of [
      ['consul', 'ServiceDefaults'],
      ['appmesh', 'VirtualService'],
      ['appmesh', 'VirtualNode'],
    ] as const) {
      const object = applied(threeWay(), mesh, kind);
      const res = await validateAs(engine(mesh), object, undefined, controller);
      expect(res.review.response?.allowed, `${mesh} ${kind}: ${messageOf(res)}`).toBe(true);
    }
  });
});
