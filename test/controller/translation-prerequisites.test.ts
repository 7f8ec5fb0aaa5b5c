import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticClusterView, type ClusterView } from '../../src/admission/cluster-view.js';
import { Discovery } from '../../src/controller/discovery.js';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube-client.js';
import { TrafficSplitReconciler } from '../../src/controller/traffic-split-reconciler.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import type { MeshId } from '../../src/mesh/ids.js';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import { translateTrafficSplit } from '../../src/translation/translate.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import {
  installIstioVirtualService,
  installLinkerdSmiCrd,
  reconcilerTestTuning,
  trafficSplit,
  waitFor,
} from '../helpers/cluster.js';

/**
 * The objects a mesh needs besides the route (Consul ServiceDefaults; the App Mesh
 * VirtualService and VirtualNodes) go through the same server-side apply, carry the same
 * controller ownerReference, and are pruned the same way, as the route itself. What the user
 * already has is read (as the runtime's watch caches hold it) and never written over.
 */
describe('reconciler: prerequisites the mesh needs', () => {
  let fake: FakeApiServer;
  let reconciler: TrafficSplitReconciler;
  let mesh: MeshId;

  const service = (name: string, selector: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const services = [
    service('web', { app: 'web' }),
    service('web-v1', { app: 'web', version: 'v1' }),
    service('web-v2', { app: 'web', version: 'v2' }),
  ];
  /** What the runtime's caches would hold of the consulted kinds, read live from the fake. */
  const existing = () =>
    [
      ...fake.objects('consul.hashicorp.com/v1alpha1', 'ServiceDefaults', 'shop'),
      ...fake.objects('consul.hashicorp.com/v1alpha1', 'ProxyDefaults'),
      ...fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop'),
      ...fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualService', 'shop'),
    ] as KubeObject[];
  const events = (reason: string) =>
    fake.objects('v1', 'Event').filter((e) => e.reason === reason) as (KubeObject & {
      message: string;
    })[];

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    installLinkerdSmiCrd(fake);
    installIstioVirtualService(fake);
    for (const [group, version, kinds] of [
      ['consul.hashicorp.com', 'v1alpha1', ['ServiceSplitter', 'ServiceDefaults', 'ProxyDefaults']],
      ['appmesh.k8s.aws', 'v1beta2', ['VirtualRouter', 'VirtualService', 'VirtualNode']],
    ] as const)
      for (const kind of kinds)
        fake.defineResource({
          group,
          versions: [version],
          resource: `${kind.toLowerCase()}${kind.endsWith('s') ? '' : 's'}`,
          kind,
          namespaced: true,
        });
    const client = createKubeClient(
      await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }),
    );
    const discovery = new Discovery(client);
    await discovery.refresh();
    const cluster: ClusterView = {
      ...staticClusterView(),
      namespaceLabels: () => undefined,
      detectedMesh: () => mesh,
    };
    reconciler = new TrafficSplitReconciler({
      client,
      discovery,
      policy: new PolicyStore(DEFAULT_POLICY_SPEC),
      cluster,
      translate: (split, m) =>
        translateTrafficSplit(split, m, { services, existing: existing(), complete: true }),
      ...reconcilerTestTuning(client),
    });
  });
  afterEach(async () => {
    await reconciler.stop();
    await fake.close();
  });

  const rollout = () =>
    fake.upsert(
      trafficSplit('shop', 'web', [
        { service: 'web-v1', weight: 90 },
        { service: 'web-v2', weight: 10 },
      ]),
    );
  const owner = (created: Record<string, unknown>) => [
    expect.objectContaining({
      kind: 'TrafficSplit',
      name: 'web',
      uid: (created.metadata as { uid: string }).uid,
      controller: true,
    }),
  ];

  it('consul: ServiceDefaults for the root and each backend, applied and owned, then pruned when the mesh changes', async () => {
    mesh = 'consul';
    await reconciler.start();
    const created = rollout();
    const defaults = () => fake.objects('consul.hashicorp.com/v1alpha1', 'ServiceDefaults', 'shop');
    await waitFor(() => defaults().length === 3, 'three ServiceDefaults');
    for (const d of defaults()) {
      expect((d.metadata as KubeObject['metadata'])?.ownerReferences).toEqual(owner(created));
      // hashicorp/consul agent/consul/discoverychain/compile.go: a splitter needs an L7 protocol.
      expect(d.spec).toEqual({ protocol: 'http' });
      expect((d.metadata as KubeObject['metadata'])?.annotations).toMatchObject({
        'meshwarden.io/prerequisite': 'checked',
      });
    }
    const applies = fake.requests.filter(
      (r) => r.method === 'PATCH' && r.path.includes('servicedefaults'),
    );
    expect(applies).toHaveLength(3);
    for (const a of applies)
      expect(a).toMatchObject({ contentType: 'application/apply-patch+yaml' });
    mesh = 'istio';
    reconciler.enqueueAll();
    await waitFor(() => defaults().length === 0, 'the ServiceDefaults pruned');
    await waitFor(
      () => fake.object('networking.istio.io/v1', 'VirtualService', 'shop', 'web'),
      'the VirtualService',
    );
  });

  it("consul: the user's own ServiceDefaults is left alone; a tcp one gets a warning Event", async () => {
    mesh = 'consul';
    fake.upsert({
      apiVersion: 'consul.hashicorp.com/v1alpha1',
      kind: 'ServiceDefaults',
      metadata: { name: 'web-v2', namespace: 'shop' },
      spec: { protocol: 'tcp' },
    });
    await reconciler.start();
    rollout();
    await waitFor(
      () => fake.object('consul.hashicorp.com/v1alpha1', 'ServiceDefaults', 'shop', 'web-v1'),
      'ServiceDefaults web-v1',
    );
    const users = fake.object('consul.hashicorp.com/v1alpha1', 'ServiceDefaults', 'shop', 'web-v2');
    expect(users?.spec).toEqual({ protocol: 'tcp' });
    expect((users?.metadata as KubeObject['metadata'])?.ownerReferences).toBeUndefined();
    const warning = await waitFor(
      () => events('TranslationWarning').find((e) => /ServiceDefaults web-v2/.test(e.message)),
      'the warning Event',
    );
    expect(warning.message).toMatch(/sets protocol tcp: Consul refuses the ServiceSplitter/);
  });

  it('appmesh: VirtualRouter, the root VirtualService naming it, and a VirtualNode per backend, all owned', async () => {
    mesh = 'appmesh';
    await reconciler.start();
    const created = rollout();
    const provider = await waitFor(
      () => fake.object('appmesh.k8s.aws/v1beta2', 'VirtualService', 'shop', 'web'),
      'the App Mesh VirtualService',
    );
    // fluxcd/flagger pkg/router/appmesh_v1beta2.go: provider.virtualRouter.virtualRouterRef.
    expect(provider.spec).toEqual({
      awsName: 'web.shop.svc.cluster.local',
      provider: { virtualRouter: { virtualRouterRef: { name: 'web' } } },
    });
    const nodes = await waitFor(() => {
      const list = fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop');
      return list.length === 2 && list;
    }, 'two VirtualNodes');
    const v1 = nodes.find((n) => (n.metadata as { name: string }).name === 'web-v1');
    expect(v1?.spec).toEqual({
      podSelector: { matchLabels: { app: 'web', version: 'v1' } },
      listeners: [{ portMapping: { port: 8080, protocol: 'http' } }],
      serviceDiscovery: { dns: { hostname: 'web-v1.shop.svc.cluster.local.' } },
    });
    for (const o of [provider, ...nodes])
      expect((o.metadata as KubeObject['metadata'])?.ownerReferences).toEqual(owner(created));
  });

  it('appmesh: the router and its companions are pruned when the mesh changes', async () => {
    mesh = 'appmesh';
    await reconciler.start();
    rollout();
    const appmesh = () => [
      ...fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualRouter', 'shop'),
      ...fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualService', 'shop'),
      ...fake.objects('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop'),
    ];
    await waitFor(() => appmesh().length === 4, 'router, VirtualService and two VirtualNodes');
    const applied = fake.requests.filter(
      (r) => r.method === 'PATCH' && /virtual(routers|services|nodes)/.test(r.path),
    );
    expect(applied.length).toBeGreaterThanOrEqual(4);
    for (const a of applied)
      expect(a).toMatchObject({ contentType: 'application/apply-patch+yaml' });
    mesh = 'istio';
    reconciler.enqueueAll();
    await waitFor(() => appmesh().length === 0, 'the App Mesh objects pruned');
  });

  it('appmesh: a VirtualNode the user adds later for the same pods replaces ours, which is pruned', async () => {
    mesh = 'appmesh';
    await reconciler.start();
    rollout();
    const ours = () => fake.object('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop', 'web-v1');
    await waitFor(() => ours(), 'VirtualNode web-v1');
    fake.upsert({
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'VirtualNode',
      metadata: { name: 'web-v1-node', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'web', version: 'v1' } } },
    });
    // The runtime requeues on a change of a consulted kind (requeueOnCacheChanges).
    reconciler.enqueueAll();
    // A pod may have one VirtualNode only: ours goes, the router names the user's.
    await waitFor(() => ours() === undefined, 'our VirtualNode web-v1 pruned');
    const router = fake.object('appmesh.k8s.aws/v1beta2', 'VirtualRouter', 'shop', 'web') as {
      spec: {
        routes: { httpRoute: { action: { weightedTargets: { virtualNodeRef: unknown }[] } } }[];
      };
    };
    expect(
      router.spec.routes[0]?.httpRoute.action.weightedTargets.map((t) => t.virtualNodeRef),
    ).toEqual([{ name: 'web-v1-node' }, { name: 'web-v2' }]);
    expect(
      fake.object('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop', 'web-v1-node'),
    ).toBeDefined();
  });

  it("appmesh: a backend's existing VirtualNode (same pods) is referenced, not duplicated", async () => {
    mesh = 'appmesh';
    fake.upsert({
      apiVersion: 'appmesh.k8s.aws/v1beta2',
      kind: 'VirtualNode',
      metadata: { name: 'web-v1-node', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { version: 'v1', app: 'web' } } },
    });
    await reconciler.start();
    rollout();
    const router = await waitFor(
      () => fake.object('appmesh.k8s.aws/v1beta2', 'VirtualRouter', 'shop', 'web'),
      'the VirtualRouter',
    );
    expect(
      (
        router.spec as {
          routes: { httpRoute: { action: { weightedTargets: { virtualNodeRef: unknown }[] } } }[];
        }
      ).routes[0]?.httpRoute.action.weightedTargets.map((t) => t.virtualNodeRef),
    ).toEqual([{ name: 'web-v1-node' }, { name: 'web-v2' }]);
    await waitFor(
      () => fake.object('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop', 'web-v2'),
      'VirtualNode web-v2',
    );
    // A pod may have one VirtualNode only: none is written for web-v1's pods.
    expect(fake.object('appmesh.k8s.aws/v1beta2', 'VirtualNode', 'shop', 'web-v1')).toBeUndefined();
  });
});
