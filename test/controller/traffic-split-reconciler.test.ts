import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { staticClusterView, type ClusterView } from '../../src/admission/cluster-view.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { Discovery } from '../../src/controller/discovery.js';
import {
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from '../../src/controller/kube-client.js';
import {
  contains,
  TrafficSplitReconciler,
  type Translate,
} from '../../src/controller/traffic-split-reconciler.js';
import { pickWrittenVersion } from '../../src/controller/traffic-split-watches.js';
import type { MeshId } from '../../src/mesh/ids.js';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import { translateTrafficSplit } from '../../src/translation/translate.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import {
  fakeTranslate,
  installHttpRoute,
  installIstioVirtualService,
  installLinkerdSmiCrd,
  reconcilerTestTuning,
  trafficSplit,
  waitFor,
} from '../helpers/cluster.js';

type Vs = KubeObject & {
  spec: { http: { route: { destination: { host: string }; weight: number }[] }[] };
};

describe('TrafficSplit reconciler', () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  let reconciler: TrafficSplitReconciler;
  let leader: boolean;
  let labels: Map<string, Record<string, string>>;
  let detected: MeshId | undefined;
  let translated: KubeObject[];

  const start = async (translate: Translate = fakeTranslate) => {
    const discovery = new Discovery(client);
    await discovery.refresh();
    const cluster: ClusterView = {
      ...staticClusterView(),
      namespaceLabels: (ns) => labels.get(ns),
      detectedMesh: () => detected,
    };
    reconciler = new TrafficSplitReconciler({
      client,
      discovery,
      policy: new PolicyStore(DEFAULT_POLICY_SPEC),
      cluster,
      translate: (split, mesh) => {
        translated.push(split);
        return translate(split, mesh);
      },
      ...reconcilerTestTuning(client, () => leader),
    });
    await reconciler.start();
    return reconciler;
  };
  const vs = (name = 'web', ns = 'shop') =>
    fake.object('networking.istio.io/v1', 'VirtualService', ns, name) as Vs | undefined;
  const weights = (v: Vs | undefined) => v?.spec.http[0]?.route.map((r) => r.weight);
  const events = (reason: string) =>
    fake.objects('v1', 'Event').filter((e) => e.reason === reason) as (KubeObject & {
      involvedObject: { kind: string; name: string; uid: string };
      message: string;
      type: string;
    })[];
  const split = (backends: { service: string; weight: number | string }[], name = 'web') =>
    trafficSplit('shop', name, backends);

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    installLinkerdSmiCrd(fake);
    installIstioVirtualService(fake);
    installHttpRoute(fake);
    client = createKubeClient(await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }));
    leader = true;
    labels = new Map();
    detected = 'istio';
    translated = [];
  });
  afterEach(async () => {
    await reconciler.stop();
    await fake.close();
  });

  it('watches every served TrafficSplit version', async () => {
    await start();
    expect(reconciler.watchedVersions).toEqual(['v1alpha1', 'v1alpha2']);
  });

  it('creates the native object with server-side apply and a controller ownerReference', async () => {
    await start();
    const created = fake.upsert(
      split([
        { service: 'web-v1', weight: 90 },
        { service: 'web-v2', weight: 10 },
      ]),
    );
    const object = await waitFor(() => vs(), 'the VirtualService');
    expect(weights(object)).toEqual([90, 10]);
    expect(object.metadata?.ownerReferences).toEqual([
      {
        apiVersion: expect.stringMatching(/^split\.smi-spec\.io\/v1alpha[12]$/),
        kind: 'TrafficSplit',
        name: 'web',
        uid: (created.metadata as { uid: string }).uid,
        controller: true,
      },
    ]);
    expect(object.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'meshwarden' });
    const apply = fake.requests.find(
      (r) => r.method === 'PATCH' && r.path.includes('virtualservices'),
    );
    expect(apply).toMatchObject({
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'meshwarden', force: 'true' },
    });
    expect(object.metadata?.managedFields).toEqual([
      expect.objectContaining({ manager: 'meshwarden', operation: 'Apply' }),
    ]);
    await waitFor(() => events('Created').length === 1, 'a Created Event');
  });

  it('applies again when the split changes', async () => {
    await start();
    fake.upsert(
      split([
        { service: 'web-v1', weight: 90 },
        { service: 'web-v2', weight: 10 },
      ]),
    );
    await waitFor(() => vs(), 'the VirtualService');
    fake.upsert(
      split([
        { service: 'web-v1', weight: 50 },
        { service: 'web-v2', weight: 50 },
      ]),
    );
    await waitFor(() => weights(vs())?.[0] === 50, 'the new weights');
    expect(weights(vs())).toEqual([50, 50]);
  });

  it('puts back what drifted, and re-creates what was deleted', async () => {
    await start();
    fake.upsert(
      split([
        { service: 'web-v1', weight: 80 },
        { service: 'web-v2', weight: 20 },
      ]),
    );
    const ours = await waitFor(() => vs(), 'the VirtualService');
    const edited = structuredClone(ours);
    edited.spec.http[0]!.route[0]!.weight = 0;
    edited.spec.http[0]!.route[1]!.weight = 100;
    fake.upsert(edited, 'kubectl-edit');
    await waitFor(() => weights(vs())?.[0] === 80, 'the weights put back');
    fake.remove('networking.istio.io/v1', 'VirtualService', 'shop', 'web');
    await waitFor(() => vs(), 'the VirtualService re-created');
  });

  it('leaves an object it does not control alone, records an Event, and takes over once it is gone', async () => {
    const foreign = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web'],
        http: [{ route: [{ destination: { host: 'web-v1' }, weight: 100 }] }],
      },
    };
    fake.upsert(foreign, 'platform-team');
    await start();
    fake.upsert(
      split([
        { service: 'web-v1', weight: 50 },
        { service: 'web-v2', weight: 50 },
      ]),
    );
    const [event] = await waitFor(() => {
      const found = events('ForeignObject');
      return found.length > 0 && found;
    }, 'a ForeignObject Event');
    expect(event).toMatchObject({
      type: 'Warning',
      involvedObject: { kind: 'TrafficSplit', name: 'web' },
    });
    expect(event?.message).toContain(
      'VirtualService shop/web exists and is not controlled by this TrafficSplit',
    );
    expect(weights(vs())).toEqual([100]);
    expect(fake.writes().filter((r) => r.path.includes('virtualservices'))).toEqual([]);
    fake.remove('networking.istio.io/v1', 'VirtualService', 'shop', 'web');
    await waitFor(() => weights(vs())?.length === 2, 'our VirtualService');
  });

  it('records translation warnings and failures as Events on the split', async () => {
    await start();
    fake.upsert(
      split([
        { service: 'web-v1', weight: 1 },
        { service: 'web-v2', weight: 500 },
      ]),
    );
    const [warning] = await waitFor(() => {
      const found = events('TranslationWarning');
      return found.length > 0 && found;
    }, 'a TranslationWarning Event');
    expect(warning?.message).toBe('backend web-v1: weight rounded to 0%');
    // The Event may be recorded before the VirtualService write lands.
    expect(await waitFor(() => weights(vs()), 'the VirtualService')).toEqual([0, 100]);
    fake.upsert(split([{ service: 'bad', weight: 0 }], 'broken'));
    const [failure] = await waitFor(() => {
      const found = events('TranslationFailed');
      return found.length > 0 && found;
    }, 'a TranslationFailed Event');
    expect(failure?.message).toBe('cannot translate for istio: the weights sum to 0');
    expect(vs('broken')).toBeUndefined();
  });

  it('follows the namespace label meshwarden.io/mesh, deleting what the old mesh needed', async () => {
    await start();
    fake.upsert(split([{ service: 'web-v1', weight: 1 }]));
    await waitFor(() => vs(), 'the VirtualService');
    labels.set('shop', { 'meshwarden.io/mesh': 'linkerd' });
    reconciler.enqueueNamespace('shop');
    await waitFor(
      () => fake.object('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'web'),
      'the HTTPRoute',
    );
    await waitFor(() => !vs(), 'the VirtualService deleted');
  });

  it('says so when the mesh needs a kind the cluster does not serve', async () => {
    detected = 'consul';
    await start((s) => {
      const r = fakeTranslate(s, 'istio');
      return r.ok
        ? {
            ...r,
            objects: [
              {
                apiVersion: 'consul.hashicorp.com/v1alpha1',
                kind: 'ServiceSplitter',
                metadata: { name: 'web', namespace: 'shop' },
              },
            ],
          }
        : r;
    });
    fake.upsert(split([{ service: 'web-v1', weight: 1 }]));
    const [event] = await waitFor(() => {
      const found = events('KindNotServed');
      return found.length > 0 && found;
    }, 'a KindNotServed Event');
    expect(event?.message).toContain('consul.hashicorp.com/v1alpha1 ServiceSplitter is not served');
  });

  it('writes nothing unless leading, and catches up when it becomes the leader', async () => {
    leader = false;
    await start();
    fake.upsert(split([{ service: 'web-v1', weight: 1 }]));
    await waitFor(() => reconciler.splitKeys().includes('shop/web'), 'the split in the cache');
    await reconciler.idle();
    expect(translated).toEqual([]);
    expect(vs()).toBeUndefined();
    expect(fake.writes().filter((r) => r.path !== '/api/v1/namespaces/shop/trafficsplits')).toEqual(
      [],
    );
    leader = true;
    reconciler.enqueueAll();
    await waitFor(() => vs(), 'the VirtualService from the new leader');
  });

  it('translates a v1alpha1 split from its v1alpha1 copy (Quantity weights), not the v1alpha2 one', async () => {
    await start();
    fake.upsert(
      trafficSplit(
        'shop',
        'web',
        [
          { service: 'web-v1', weight: '750m' },
          { service: 'web-v2', weight: '250m' },
        ],
        'split.smi-spec.io/v1alpha1',
      ),
    );
    await waitFor(() => vs(), 'the VirtualService');
    expect(new Set(translated.map((s) => s.apiVersion))).toEqual(
      new Set(['split.smi-spec.io/v1alpha1']),
    );
    expect(weights(vs())).toEqual([75, 25]);
  });

  it('leaves removal to garbage collection: deleting the split deletes its objects', async () => {
    await start();
    fake.upsert(split([{ service: 'web-v1', weight: 1 }]));
    await waitFor(() => vs(), 'the VirtualService');
    fake.remove('split.smi-spec.io/v1alpha2', 'TrafficSplit', 'shop', 'web');
    expect(vs()).toBeUndefined();
  });

  it('runs the real translation into the native object, owned by the split', async () => {
    await start(translateTrafficSplit);
    fake.upsert(
      split([
        { service: 'web-v1', weight: 900 },
        { service: 'web-v2', weight: 100 },
      ]),
    );
    const object = await waitFor(() => vs(), 'the VirtualService from the real translation');
    expect(object.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'TrafficSplit',
      name: 'web',
      controller: true,
    });
    expect(object.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('meshwarden');
    expect(weights(vs())).toEqual([90, 10]);
  });
});

describe('reconciler helpers', () => {
  it('contains: every desired field equal, extra fields in the current object ignored', () => {
    expect(contains({ a: 1, b: { c: [1, 2], d: 'x' }, e: 3 }, { a: 1, b: { c: [1, 2] } })).toBe(
      true,
    );
    expect(contains({ a: 1, b: { c: [1, 2, 3] } }, { b: { c: [1, 2] } })).toBe(false);
    expect(contains({ a: 1 }, { a: 1, z: 0 })).toBe(false);
  });

  it('pickWrittenVersion: the copy in the version of the latest managedFields entry', () => {
    const copy = (apiVersion: string): KubeObject => ({
      apiVersion,
      metadata: {
        managedFields: [
          { manager: 'a', apiVersion: 'x/v1', time: '2024-01-01T00:00:00Z' },
          { manager: 'b', apiVersion: 'x/v2', time: '2024-02-01T00:00:00Z' },
          { manager: 'c', apiVersion: 'x/v1', time: '2024-03-01T00:00:00Z', subresource: 'status' },
        ],
      },
    });
    expect(pickWrittenVersion([copy('x/v1'), copy('x/v2')])?.apiVersion).toBe('x/v2');
    expect(pickWrittenVersion([{ apiVersion: 'x/v3' }])?.apiVersion).toBe('x/v3');
    expect(pickWrittenVersion([])).toBeUndefined();
  });
});
