import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { Discovery } from '../../src/controller/discovery.js';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube-client.js';
import { TrafficSplitReconciler } from '../../src/controller/traffic-split-reconciler.js';
import { translateFromView } from '../../src/controller/translation-inputs.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import type { MeshId } from '../../src/mesh/ids.js';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import {
  installIstioVirtualService,
  installLinkerdSmiCrd,
  reconcilerTestTuning,
  trafficSplit,
  waitFor,
} from '../helpers/cluster.js';

const service = (name: string, selector: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { selector, ports: [{ name: 'http', port: 80 }] },
});
const SERVICES = [
  service('web', { app: 'web' }),
  service('web-v1', { app: 'web', version: 'v1' }),
  service('web-v2', { app: 'web', version: 'v2' }),
];

/**
 * The version written is the highest one the cluster serves of the target kind (the runtime's
 * translation, `translateFromView`), and whatever version a route was written in, the reconciler
 * watches it, so that it is put back on drift and pruned when translation no longer produces it,
 * also after a restart.
 */
describe('reconciler: the version the cluster serves', () => {
  let fake: FakeApiServer;
  let mesh: MeshId;
  const running: TrafficSplitReconciler[] = [];

  /** Serves HTTPRoute in `versions` (Linkerd 2.14 to 2.17 bundle v1beta1 only). */
  const serveHttpRoute = (versions: string[]) =>
    fake.defineResource({
      group: 'gateway.networking.k8s.io',
      versions,
      resource: 'httproutes',
      kind: 'HTTPRoute',
      namespaced: true,
    });

  const start = async () => {
    const client = createKubeClient(
      await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }),
    );
    const discovery = new Discovery(client);
    await discovery.refresh();
    const cluster = {
      ...staticClusterView({ services: SERVICES, complete: true }),
      detectedMesh: () => mesh,
    };
    const reconciler = new TrafficSplitReconciler({
      client,
      discovery,
      policy: new PolicyStore(DEFAULT_POLICY_SPEC),
      cluster,
      translate: translateFromView(cluster, discovery),
      ...reconcilerTestTuning(client),
    });
    running.push(reconciler);
    await reconciler.start();
    return reconciler;
  };
  const applyPaths = () =>
    fake.requests
      .filter((r) => r.method === 'PATCH' && r.path.includes('/httproutes/'))
      .map((r) => r.path);

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    installLinkerdSmiCrd(fake);
    installIstioVirtualService(fake);
    mesh = 'linkerd';
    fake.upsert(
      trafficSplit('shop', 'web', [
        { service: 'web-v1', weight: 90 },
        { service: 'web-v2', weight: 10 },
      ]),
    );
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    await fake.close();
  });

  it('a cluster serving HTTPRoute v1beta1 only gets v1beta1 (linkerd/linkerd2 charts/linkerd-crds at version-2.17)', async () => {
    serveHttpRoute(['v1beta1']);
    await start();
    await waitFor(() => applyPaths().length > 0, 'the HTTPRoute applied');
    expect(new Set(applyPaths())).toEqual(
      new Set(['/apis/gateway.networking.k8s.io/v1beta1/namespaces/shop/httproutes/web']),
    );
  });

  it('a cluster serving v1 and v1beta1 gets v1, the highest', async () => {
    serveHttpRoute(['v1', 'v1beta1']);
    await start();
    await waitFor(() => applyPaths().length > 0, 'the HTTPRoute applied');
    expect(new Set(applyPaths())).toEqual(
      new Set(['/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/web']),
    );
  });

  it('a v1beta1 route is pruned by a restarted reconciler once the mesh changes', async () => {
    serveHttpRoute(['v1beta1']);
    const first = await start();
    const route = () =>
      fake.object('gateway.networking.k8s.io/v1beta1', 'HTTPRoute', 'shop', 'web');
    await waitFor(() => route(), 'the HTTPRoute');
    await first.stop();
    running.splice(0);
    mesh = 'istio';
    await start();
    await waitFor(
      () => fake.object('networking.istio.io/v1', 'VirtualService', 'shop', 'web'),
      'the VirtualService',
    );
    await waitFor(() => route() === undefined, 'the v1beta1 HTTPRoute pruned');
  });

  it('a v1beta1 route changed by hand is put back by a restarted reconciler', async () => {
    serveHttpRoute(['v1beta1']);
    const first = await start();
    const route = () =>
      fake.object('gateway.networking.k8s.io/v1beta1', 'HTTPRoute', 'shop', 'web') as
        (KubeObject & { spec: { rules: { backendRefs: { weight: number }[] }[] } }) | undefined;
    await waitFor(() => route(), 'the HTTPRoute');
    await first.stop();
    running.splice(0);
    await start();
    const drifted = structuredClone(route()!);
    drifted.spec.rules[0]!.backendRefs[1]!.weight = 90;
    fake.upsert(drifted);
    await waitFor(
      () => route()?.spec.rules[0]?.backendRefs[1]?.weight === 10,
      'the weights put back',
    );
  });
});
