import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerTuning } from '../../src/controller/runtime.js';
import { NAMESPACE, find, render, requireHelm } from '../charts/helm.js';
import { fakeTranslate, namespace, waitFor } from '../helpers/cluster.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { infraObjects, namespacesOf, type InfraObject } from '../helpers/infra.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import type { Agent } from 'node:https';
import {
  get,
  keepAliveAgent,
  post,
  startTestWebhook,
  type TestWebhook,
} from '../helpers/webhook.js';

// `helm install` with default values, then the infrastructure: meshwarden's HTTPS webhook, its
// watch caches fed by a fake API server holding the Namespaces helm creates and the chart's policy
// ConfigMap, answers every rendered object. None is denied and none patched.

const tuning: ControllerTuning = {
  leaderElection: { leaseDurationSeconds: 1, renewDeadlineMs: 600, retryPeriodMs: 50 },
  discoveryRefreshMs: 600_000,
  resyncMs: 600_000,
  informerBackoff: { initialMs: 20, maxMs: 100 },
  retryBackoff: { initialMs: 20, maxMs: 100 },
  translate: fakeTranslate,
};

let fake: FakeApiServer;
let server: TestWebhook;
let objects: InfraObject[];
let agent: Agent;

interface Answer {
  allowed: boolean;
  patch?: string;
  status?: { message: string };
  warnings?: string[];
}

async function answer(path: '/mutate' | '/validate', object: unknown): Promise<Answer> {
  const body = JSON.stringify(makeReview({ object: object as Record<string, unknown> }));
  const res = await post(server.port, path, body, { agent });
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as { response: Answer }).response;
}

beforeAll(async () => {
  requireHelm();
  objects = infraObjects();
  fake = await FakeApiServer.start();
  for (const ns of namespacesOf(objects)) fake.upsert(ns);
  fake.upsert(namespace('shop', { 'istio-injection': 'enabled' }));
  fake.upsert(find(render().objects, 'ConfigMap', 'meshwarden-policy'));
  server = await startTestWebhook({
    kubeconfig: await fake.writeKubeconfig('infra'),
    installNamespace: NAMESPACE,
    controller: tuning,
  });
  // One TLS connection for every review, as the API server keeps its connections open.
  agent = keepAliveAgent(server.bundle.caCert);
  await waitFor(
    async () => (await get(server.port, '/readyz', server.bundle.caCert)).status === 200,
    'readiness',
  );
  // The namespace cache has the labels once the opted-in namespace is enforced.
  await waitFor(
    async () =>
      !(await answer('/validate', deployment('web', null, { namespace: 'shop' }))).allowed,
    'the shop namespace in the watch cache',
  );
}, 60_000);

afterAll(async () => {
  agent?.destroy();
  await server?.stop();
  await fake?.close();
});

describe('the HTTPS webhook after helm install defaults, over the infrastructure', () => {
  it('denies nothing and patches nothing', async () => {
    for (const { object, chart } of objects) {
      const id = `${chart} ${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
      const mutated = await answer('/mutate', object);
      expect(mutated.allowed, id).toBe(true);
      expect(mutated.patch, id).toBeUndefined();
      const validated = await answer('/validate', object);
      expect(validated.allowed, `${id}: ${validated.status?.message}`).toBe(true);
      expect(validated.warnings, id).toBeUndefined();
    }
  });

  it('still marks and checks workloads in a namespace that takes part in the mesh', async () => {
    const labelled = deployment('web', { app: 'web', version: '1.0.0' }, { namespace: 'shop' });
    const mutated = await answer('/mutate', labelled);
    expect(JSON.parse(Buffer.from(mutated.patch ?? '', 'base64').toString('utf8'))).toEqual([
      { op: 'add', path: '/spec/template/metadata/labels/sidecar.istio.io~1inject', value: 'true' },
    ]);
    const denied = await answer('/validate', deployment('web', null, { namespace: 'shop' }));
    expect(denied.status?.message).toContain('Deployment shop/web has no app and version labels');
  });

  it('audits a namespace the watch cache has not seen yet instead of refusing it', async () => {
    const result = await answer('/validate', deployment('web', null, { namespace: 'brand-new' }));
    expect(result.allowed).toBe(true);
  });
});
