import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { installLinkerdSmiCrd, trafficSplit, waitFor } from '../helpers/cluster.js';

// The fake must speak the protocol client-node expects; these tests use client-node's own APIs.
describe('fake API server, through client-node', () => {
  let fake: FakeApiServer;
  let kc: KubeConfig;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    kc = new KubeConfig();
    kc.loadFromFile(await fake.writeKubeconfig());
  });
  afterEach(() => fake.close());

  it('serves discovery for built-in groups and installed CRDs, every served version', async () => {
    installLinkerdSmiCrd(fake);
    const apis = (await (await fetch(`${fake.url}/apis`)).json()) as {
      groups: {
        name: string;
        versions: { version: string }[];
        preferredVersion: { version: string };
      }[];
    };
    const smi = apis.groups.find((g) => g.name === 'split.smi-spec.io');
    expect(smi?.versions.map((v) => v.version)).toEqual(['v1alpha1', 'v1alpha2']);
    expect(smi?.preferredVersion.version).toBe('v1alpha1');
    const resources = (await (
      await fetch(`${fake.url}/apis/split.smi-spec.io/v1alpha2`)
    ).json()) as {
      resources: { name: string; kind: string; namespaced: boolean }[];
    };
    expect(resources.resources).toContainEqual(
      expect.objectContaining({ name: 'trafficsplits', kind: 'TrafficSplit', namespaced: true }),
    );
    expect((await fetch(`${fake.url}/apis/split.smi-spec.io/v1alpha4`)).status).toBe(404);
  });

  it('lists and gets with the typed client, and answers 404 and 409 with a Status', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'shop', labels: { team: 'a' } } } });
    const list = await core.listNamespace({ labelSelector: 'team=a' });
    expect(list.items.map((n) => n.metadata?.name)).toEqual(['shop']);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
    const missing = await core.readNamespace({ name: 'nope' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiException);
    expect((missing as ApiException<unknown>).code).toBe(404);
    const again = await core
      .createNamespace({ body: { metadata: { name: 'shop' } } })
      .catch((e: unknown) => e);
    expect((again as ApiException<unknown>).code).toBe(409);
  });

  it('serves one storage in every version of a CRD (conversion None)', async () => {
    installLinkerdSmiCrd(fake);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: 'split.smi-spec.io',
      version: 'v1alpha1',
      namespace: 'shop',
      plural: 'trafficsplits',
      body: trafficSplit(
        'shop',
        'web',
        [{ service: 'web-v1', weight: '500m' }],
        'split.smi-spec.io/v1alpha1',
      ),
    });
    const asV2 = (await custom.getNamespacedCustomObject({
      group: 'split.smi-spec.io',
      version: 'v1alpha2',
      namespace: 'shop',
      plural: 'trafficsplits',
      name: 'web',
    })) as { apiVersion: string; spec: { backends: { weight: unknown }[] } };
    expect(asV2.apiVersion).toBe('split.smi-spec.io/v1alpha2');
    expect(asV2.spec.backends[0]?.weight).toBe('500m');
  });

  it('does server-side apply with field ownership: conflicts without force, taken with force', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'demo', namespace: 'default' },
      data: { a: '1' },
    };
    await objects.patch(cm, undefined, undefined, 'alice', false, PatchStrategy.ServerSideApply);
    const applied = fake.requests.find((r) => r.method === 'PATCH');
    expect(applied?.contentType).toBe('application/apply-patch+yaml');
    expect(applied?.query.fieldManager).toBe('alice');

    const bob = { ...cm, data: { a: '2' } };
    const conflict = await objects
      .patch(bob, undefined, undefined, 'bob', false, PatchStrategy.ServerSideApply)
      .catch((e: unknown) => e);
    expect((conflict as ApiException<unknown>).code).toBe(409);
    const statusBody = JSON.parse(String((conflict as ApiException<unknown>).body));
    expect(statusBody).toMatchObject({ reason: 'Conflict', code: 409 });
    expect(statusBody.details.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.a' },
    ]);

    // Same value: shared ownership, no conflict.
    await objects.patch(cm, undefined, undefined, 'carol', false, PatchStrategy.ServerSideApply);
    await objects.patch(bob, undefined, undefined, 'bob', true, PatchStrategy.ServerSideApply);
    const stored = fake.object('v1', 'ConfigMap', 'default', 'demo') as {
      data: Record<string, string>;
      metadata: { managedFields: { manager: string; fieldsV1: unknown }[] };
    };
    expect(stored.data.a).toBe('2');
    expect(stored.metadata.managedFields.map((m) => m.manager)).toEqual(['bob']);
    expect(stored.metadata.managedFields[0]?.fieldsV1).toEqual({ 'f:data': { 'f:a': {} } });
  });

  it('removes fields an applier stops applying, and a no-op apply changes nothing', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const headers = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'demo', namespace: 'default' },
      data: { a: '1', b: '2' },
    };
    await core.patchNamespacedConfigMap(
      { name: 'demo', namespace: 'default', body, fieldManager: 'alice' },
      headers,
    );
    const rv = fake.object('v1', 'ConfigMap', 'default', 'demo')?.metadata;
    await core.patchNamespacedConfigMap(
      { name: 'demo', namespace: 'default', body, fieldManager: 'alice' },
      headers,
    );
    expect(fake.object('v1', 'ConfigMap', 'default', 'demo')?.metadata).toEqual(rv);
    await core.patchNamespacedConfigMap(
      {
        name: 'demo',
        namespace: 'default',
        body: { ...body, data: { a: '1' } },
        fieldManager: 'alice',
      },
      headers,
    );
    expect(fake.object('v1', 'ConfigMap', 'default', 'demo')?.data).toEqual({ a: '1' });
  });

  it('streams watch events, sends a selector exit as DELETED, and 410 for a compacted version', async () => {
    const watch = new Watch(kc);
    fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'a', labels: { k: 'v' } },
    });
    const rv = fake.resourceVersion;
    const seen: string[] = [];
    const controller = await watch.watch(
      '/api/v1/configmaps',
      { resourceVersion: rv, labelSelector: 'k=v' },
      (type, obj: { metadata: { name: string } }) => seen.push(`${type} ${obj.metadata.name}`),
      () => {},
    );
    fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'y', namespace: 'a', labels: { k: 'v' } },
    });
    fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'y', namespace: 'a', labels: { k: 'w' } },
    });
    fake.upsert({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'z', namespace: 'a' } });
    await waitFor(() => seen.length >= 2, 'watch events');
    expect(seen).toEqual(['ADDED y', 'DELETED y']);
    controller.abort();

    fake.compact();
    const errors: unknown[] = [];
    let ended = false;
    await watch.watch(
      '/api/v1/configmaps',
      { resourceVersion: rv },
      (type, obj) => errors.push({ type, obj }),
      () => (ended = true),
    );
    await waitFor(() => ended, 'the watch to end');
    expect(errors).toEqual([
      { type: 'ERROR', obj: expect.objectContaining({ code: 410, reason: 'Expired' }) },
    ]);
  });

  it('applies JSON patches and merge patches, and checks resourceVersion on PUT', async () => {
    const created = fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'p', namespace: 'a' },
      data: { a: '1' },
    });
    const patch = async (type: string, body: unknown) =>
      fetch(`${fake.url}/api/v1/namespaces/a/configmaps/p`, {
        method: 'PATCH',
        headers: { 'Content-Type': type },
        body: JSON.stringify(body),
      });
    expect(
      (await patch('application/json-patch+json', [{ op: 'add', path: '/data/b', value: '2' }]))
        .status,
    ).toBe(200);
    expect(
      (await patch('application/json-patch+json', [{ op: 'test', path: '/data/a', value: 'x' }]))
        .status,
    ).toBe(422);
    expect((await patch('application/merge-patch+json', { data: { a: null } })).status).toBe(200);
    expect(fake.object('v1', 'ConfigMap', 'a', 'p')?.data).toEqual({ b: '2' });
    const stale = await fetch(`${fake.url}/api/v1/namespaces/a/configmaps/p`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(created),
    });
    expect(stale.status).toBe(409);
  });

  it('garbage-collects dependents when their owner is deleted', () => {
    const owner = fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'o', namespace: 'a' },
    });
    fake.upsert({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'd',
        namespace: 'a',
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            name: 'o',
            uid: (owner.metadata as { uid: string }).uid,
          },
        ],
      },
    });
    fake.remove('v1', 'ConfigMap', 'a', 'o');
    expect(fake.object('v1', 'ConfigMap', 'a', 'd')).toBeUndefined();
  });
});
