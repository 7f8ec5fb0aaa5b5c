import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Informer, type InformerSource } from '../../src/controller/informer.js';
import {
  createKubeClient,
  KubeApiError,
  loadKubeConfig,
  type KubeClient,
} from '../../src/controller/kube-client.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { silentLogger, waitFor } from '../helpers/cluster.js';

const configMaps: InformerSource = {
  name: 'configmaps',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  path: '/api/v1/configmaps',
};

const cm = (name: string, data: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'a' },
  data,
});

describe('Informer', () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  const informers: Informer[] = [];

  const start = (source = configMaps, onRestart?: () => void) => {
    const informer = new Informer(client, source, {
      logger: silentLogger(),
      backoff: { initialMs: 20, maxMs: 200 },
      ...(onRestart ? { onRestart } : {}),
    });
    informers.push(informer);
    informer.start();
    return informer;
  };

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    client = createKubeClient(await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }));
  });
  afterEach(async () => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
    await fake.close();
  });

  it('lists, then follows adds, updates and deletes; items carry apiVersion and kind', async () => {
    fake.upsert(cm('one'));
    const informer = start();
    await informer.synced();
    expect(informer.get('one', 'a')).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    fake.upsert(cm('two'));
    fake.upsert(cm('two', { k: 'v' }));
    fake.remove('v1', 'ConfigMap', 'a', 'one');
    await waitFor(() => seen.length === 3, 'three events');
    expect(seen).toEqual(['add two', 'update two', 'delete one']);
    expect(informer.list('a').map((o) => o.metadata?.name)).toEqual(['two']);
  });

  it('restarts after the watch connection breaks and catches up on what it missed', async () => {
    let restarts = 0;
    const informer = start(configMaps, () => restarts++);
    await informer.synced();
    await waitFor(() => fake.openWatches === 1, 'an open watch');
    fake.dropWatches();
    fake.upsert(cm('while-down'));
    await waitFor(() => informer.get('while-down', 'a'), 'the missed object');
    expect(restarts).toBeGreaterThanOrEqual(1);
    fake.upsert(cm('after'));
    await waitFor(() => informer.get('after', 'a'), 'an object after the restart');
  });

  it('restarts after the API server answers the watch with an error', async () => {
    let restarts = 0;
    fake.failNext((r) => r.query.watch === 'true', 500, 3);
    const informer = start(configMaps, () => restarts++);
    await informer.synced();
    fake.upsert(cm('late'));
    await waitFor(() => informer.get('late', 'a'), 'the object once the watch works');
    expect(restarts).toBe(3);
  });

  it('keeps retrying a failing list and becomes synced when it succeeds', async () => {
    fake.failNext((r) => r.method === 'GET' && r.query.watch === undefined, 503, 2);
    fake.upsert(cm('x'));
    const informer = start();
    await informer.synced();
    expect(informer.get('x', 'a')).toBeDefined();
  });

  it('relists after 410 Gone, dropping objects deleted while it was away', async () => {
    fake.upsert(cm('stays'));
    fake.upsert(cm('goes'));
    const informer = start();
    await informer.synced();
    const deleted: string[] = [];
    informer.on('delete', (o) => deleted.push(o.metadata?.name ?? ''));
    await waitFor(() => fake.openWatches === 1, 'an open watch');
    fake.dropWatches();
    fake.remove('v1', 'ConfigMap', 'a', 'goes');
    fake.compact();
    await waitFor(() => deleted.includes('goes'), 'the deletion, from a relist');
    expect(informer.list('a').map((o) => o.metadata?.name)).toEqual(['stays']);
    const lists = fake.requests.filter((r) => r.path === '/api/v1/configmaps' && !r.query.watch);
    expect(lists.length).toBeGreaterThanOrEqual(2);
  });

  it('selects by field and label', async () => {
    fake.upsert(cm('meshwarden-policy'));
    fake.upsert(cm('other'));
    const informer = start({ ...configMaps, fieldSelector: 'metadata.name=meshwarden-policy' });
    await informer.synced();
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(['meshwarden-policy']);
  });
});

describe('kube client', () => {
  it('reports API errors with code and reason, and GET 404 as undefined', async () => {
    const fake = await FakeApiServer.start();
    try {
      const client = createKubeClient(
        await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }),
      );
      expect(await client.get('/api/v1/namespaces/nope')).toBeUndefined();
      const error = await client
        .create('/api/v1/namespaces', { metadata: {} })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KubeApiError);
      expect((error as KubeApiError).code).toBe(422);
      expect((error as KubeApiError).message).toContain('name or generateName is required');
      await client.apply('/api/v1/namespaces/a/configmaps/c', cm('c', { a: '1' }));
      const sent = fake.requests.find((r) => r.method === 'PATCH');
      expect(sent?.query).toEqual({ fieldManager: 'meshwarden', force: 'true' });
      expect(sent?.contentType).toBe('application/apply-patch+yaml');
      expect(sent?.token).toBe('test-token');
    } finally {
      await fake.close();
    }
  });

  it('refuses unusable kubeconfigs with one line naming the file', async () => {
    await expect(loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' })).rejects.toThrow(
      '--kubeconfig /nonexistent/kubeconfig: ENOENT',
    );
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      await expect(loadKubeConfig({ inCluster: true })).rejects.toThrow(
        'KUBERNETES_SERVICE_HOST is not set',
      );
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });
});
