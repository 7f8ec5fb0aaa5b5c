import { X509Certificate } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { startServe } from '../../src/cli/serve-command.js';
import type { ControllerTuning } from '../../src/controller/runtime.js';
import { generateCertificates } from '../../src/pki/issue.js';
import { writeCertificates } from '../../src/pki/files.js';
import type { RunningWebhook } from '../../src/app/serve.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import {
  fakeTranslate,
  installFlaggerCrd,
  installHttpRoute,
  installIstioVirtualService,
  installLinkerdSmiCrd,
  installSmiSdkCrd,
  namespace,
  policyConfigMap,
  silentLogger,
  trafficSplit,
  waitFor,
} from '../helpers/cluster.js';
import { parseServeFlags } from '../helpers/cli.js';
import { makeReview } from '../helpers/reviews.js';

const NS = 'meshwarden-system';
const tuning: ControllerTuning = {
  leaderElection: { leaseDurationSeconds: 1, renewDeadlineMs: 600, retryPeriodMs: 50 },
  discoveryRefreshMs: 600_000,
  resyncMs: 600_000,
  informerBackoff: { initialMs: 20, maxMs: 100 },
  retryBackoff: { initialMs: 20, maxMs: 100 },
  blockedRetryMs: 100,
  certificates: { caBundleGraceMs: 0 },
  translate: fakeTranslate,
};

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', rejectUnauthorized: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function post(
  port: number,
  path: string,
  payload: unknown,
): Promise<{
  status: number;
  body: { response: { allowed: boolean; status: { message: string } } };
}> {
  const data = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function servedCertificate(port: number): Promise<X509Certificate | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate());
      socket.end();
    });
    socket.on('error', () => resolve(undefined));
  });
}

describe('meshwarden serve --kubeconfig, two replicas against the fake API server', () => {
  let fake: FakeApiServer;
  const replicas = new Map<string, RunningWebhook>();

  const startReplica = async (name: string, controller: ControllerTuning = tuning) => {
    const kubeconfig = await fake.writeKubeconfig(name);
    const flags = await parseServeFlags([
      '--kubeconfig',
      kubeconfig,
      '--port',
      '0',
      '--install-namespace',
      NS,
      '--cert-mode',
      'self-managed',
      '--mutating-webhook',
      'meshwarden-mutating',
      '--validating-webhook',
      'meshwarden-validating',
      '--drain-seconds',
      '0',
    ]);
    const { webhook } = await startServe(flags, {
      logger: silentLogger(),
      podName: name,
      controller,
    });
    replicas.set(name, webhook);
    return webhook;
  };
  const leaderOf = () => [...replicas.entries()].find(([, w]) => w.runtime?.leader.isLeader)?.[0];
  const vs = (name: string) =>
    fake.object('networking.istio.io/v1', 'VirtualService', 'shop', name) as KubeObject | undefined;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    installLinkerdSmiCrd(fake);
    installIstioVirtualService(fake);
    fake.upsert(namespace('shop'));
    for (const kind of ['Mutating', 'Validating'])
      fake.upsert({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: `${kind}WebhookConfiguration`,
        metadata: { name: `meshwarden-${kind.toLowerCase()}` },
        webhooks: [
          {
            name: `${kind.toLowerCase()}.meshwarden.io`,
            clientConfig: { service: { name: 'meshwarden', namespace: NS } },
          },
        ],
      });
    fake.upsert(
      policyConfigMap(
        NS,
        'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 15\n',
      ),
    );
  });
  afterEach(async () => {
    await Promise.all([...replicas.values()].map((w) => w.shutdown(0)));
    replicas.clear();
    await fake.close();
  });

  it('elects one leader, which alone writes; both replicas become ready with the Secret certificate', async () => {
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');
    const leader = await waitFor(() => leaderOf(), 'a leader');
    const follower = leader === 'replica-a' ? 'replica-b' : 'replica-a';
    const lease = fake.object('coordination.k8s.io/v1', 'Lease', NS, 'meshwarden-leader') as {
      spec: { holderIdentity: string };
    };
    expect(lease.spec.holderIdentity).toBe(leader);

    for (const w of [a, b])
      await waitFor(async () => (await get(w.https.port, '/readyz')).status === 200, 'readiness');
    const secret = fake.object('v1', 'Secret', NS, 'meshwarden-tls') as {
      data: Record<string, string>;
    };
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt']!, 'base64'));
    for (const w of [a, b]) {
      const cert = await servedCertificate(w.https.port);
      expect(cert?.checkIssued(ca)).toBe(true);
    }
    // Both policies in force come from the ConfigMap.
    expect(a.policy.cluster.weightShift.maxStepWeight).toBe(15);
    expect(b.policy.cluster.weightShift.maxStepWeight).toBe(15);

    fake.upsert(
      trafficSplit('shop', 'web', [
        { service: 'web-v1', weight: 80 },
        { service: 'web-v2', weight: 20 },
      ]),
    );
    const object = await waitFor(() => vs('web'), 'the VirtualService');
    expect(object.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'TrafficSplit',
      name: 'web',
      controller: true,
    });
    const applier = fake.requests.find(
      (r) => r.method === 'PATCH' && r.path.includes('virtualservices'),
    );
    expect(applier?.token).toBe(leader);
    expect(fake.writes(follower)).toEqual([]);
  });

  it('translates with the real writers, reading the root Service port from the watch cache', async () => {
    installHttpRoute(fake);
    fake.upsert(namespace('shop', { 'meshwarden.io/mesh': 'linkerd' }));
    // The root and both backends: in a cluster a backend whose Service does not exist is left out.
    for (const [name, version] of [
      ['web', undefined],
      ['web-v1', 'v1'],
      ['web-v2', 'v2'],
    ] as const)
      fake.upsert({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'shop' },
        spec: {
          ports: [{ name: 'http', port: 9898 }],
          selector: { app: 'web', ...(version ? { version } : {}) },
        },
      });
    await startReplica('replica-a', { ...tuning, translate: undefined });
    await waitFor(() => leaderOf(), 'a leader');
    fake.upsert(
      trafficSplit('shop', 'web', [
        { service: 'web-v1', weight: 3 },
        { service: 'web-v2', weight: 1 },
      ]),
    );
    const route = (await waitFor(
      () => fake.object('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', 'web'),
      'the HTTPRoute',
    )) as KubeObject & {
      spec: {
        parentRefs: { kind: string; port: number }[];
        rules: { backendRefs: { name: string; weight: number }[] }[];
      };
    };
    expect(route.spec.parentRefs[0]).toMatchObject({ kind: 'Service', port: 9898 });
    expect(route.spec.rules[0]?.backendRefs.map((b) => [b.name, b.weight])).toEqual([
      ['web-v1', 75],
      ['web-v2', 25],
    ]);
    expect(route.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'TrafficSplit',
      name: 'web',
    });
  });

  it('translates spec.matches from HTTPRouteGroups in its watch cache', async () => {
    // TrafficSplit matches exist from v1alpha3 on: serve smi-sdk-go's v1alpha4 CRD instead.
    installSmiSdkCrd(fake);
    fake.defineResource({
      group: 'specs.smi-spec.io',
      versions: ['v1alpha4'],
      resource: 'httproutegroups',
      kind: 'HTTPRouteGroup',
      namespaced: true,
    });
    fake.upsert({
      apiVersion: 'specs.smi-spec.io/v1alpha4',
      kind: 'HTTPRouteGroup',
      metadata: { name: 'beta-users', namespace: 'shop' },
      spec: { matches: [{ name: 'beta', headers: [{ 'x-beta': 'yes' }] }] },
    });
    await startReplica('replica-a', { ...tuning, translate: undefined });
    await waitFor(() => leaderOf(), 'a leader');
    fake.upsert({
      ...trafficSplit('shop', 'web', [
        { service: 'web-v1', weight: 0 },
        { service: 'web-v2', weight: 100 },
      ]),
      apiVersion: 'split.smi-spec.io/v1alpha4',
      spec: {
        service: 'web',
        backends: [
          { service: 'web-v1', weight: 0 },
          { service: 'web-v2', weight: 100 },
        ],
        matches: [{ kind: 'HTTPRouteGroup', name: 'beta-users' }],
      },
    });
    const object = (await waitFor(() => vs('web'), 'the VirtualService')) as KubeObject & {
      spec: {
        http: { match?: { headers?: Record<string, unknown> }[]; route: { weight?: number }[] }[];
      };
    };
    expect(object.spec.http).toHaveLength(2);
    expect(object.spec.http[0]?.match?.[0]?.headers).toEqual({ 'x-beta': { regex: 'yes' } });
    expect(object.spec.http[0]?.route.map((r) => r.weight)).toEqual([0, 100]);
  });

  it('reloads policy ConfigMaps on every replica without a restart', async () => {
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');
    await waitFor(() => a.policy.loaded && b.policy.loaded, 'the first policy load');
    fake.upsert(
      policyConfigMap(
        NS,
        'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 5\n',
      ),
    );
    fake.upsert(
      policyConfigMap(
        'shop',
        'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  enforcement: enforce\n  weightShift:\n    maxStepWeight: 2\n',
      ),
    );
    for (const w of [a, b]) {
      await waitFor(
        () => w.policy.cluster.weightShift.maxStepWeight === 5,
        'the new cluster policy',
      );
      await waitFor(
        () => w.policy.forNamespace('shop').weightShift.maxStepWeight === 2,
        'the override',
      );
    }
    // A bad one: the last valid stays, and the metric says so.
    fake.upsert(
      policyConfigMap(
        NS,
        'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: nope\n',
      ),
    );
    await waitFor(
      async () =>
        (await get(a.https.port, '/metrics')).body.includes(
          'meshwarden_policy_reload_errors_total{source="configmap/meshwarden-system"} 1',
        ),
      'the reload error metric',
    );
    expect(a.policy.cluster.weightShift.maxStepWeight).toBe(5);
  });

  it('repairs a reset caBundle, and hands leadership over when the leader shuts down', async () => {
    await startReplica('replica-a');
    await waitFor(() => leaderOf() === 'replica-a', 'replica-a to lead');
    await startReplica('replica-b');
    const bundle = () =>
      (
        fake.object(
          'admissionregistration.k8s.io/v1',
          'ValidatingWebhookConfiguration',
          undefined,
          'meshwarden-validating',
        ) as {
          webhooks: { clientConfig: { caBundle?: string } }[];
        }
      ).webhooks[0]?.clientConfig.caBundle;
    const wanted = await waitFor(() => bundle(), 'the caBundle');
    fake.upsert(
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'meshwarden-validating' },
        webhooks: [
          {
            name: 'validating.meshwarden.io',
            clientConfig: { service: { name: 'meshwarden', namespace: NS } },
          },
        ],
      },
      'helm',
    );
    await waitFor(() => bundle() === wanted, 'the caBundle repaired');

    await replicas.get('replica-a')?.shutdown(0);
    replicas.delete('replica-a');
    await waitFor(() => leaderOf() === 'replica-b', 'replica-b to lead');
    fake.upsert(trafficSplit('shop', 'api', [{ service: 'api-v1', weight: 1 }]));
    await waitFor(() => vs('api'), 'the VirtualService from the new leader');
    const applier = fake.requests.find(
      (r) => r.method === 'PATCH' && r.path.endsWith('/virtualservices/api'),
    );
    expect(applier?.token).toBe('replica-b');
  });

  it('gives admission namespace labels, the detected mesh and Flagger Canaries from its caches', async () => {
    installFlaggerCrd(fake);
    fake.upsert({
      apiVersion: 'flagger.app/v1beta1',
      kind: 'Canary',
      metadata: { name: 'web', namespace: 'shop' },
      spec: { analysis: { stepWeight: 10, maxWeight: 50 } },
    });
    fake.upsert(namespace('shop', { team: 'payments' }));
    const a = await startReplica('replica-a');
    const cluster = a.runtime?.cluster;
    await waitFor(() => cluster?.canary('shop', 'web'), 'the Canary in the cache');
    await waitFor(() => cluster?.namespaceLabels('shop')?.team === 'payments', 'the labels');
    // Only Istio's API group is served: a weak but single candidate.
    await waitFor(() => cluster?.detectedMesh() === 'istio', 'the detected mesh');
    expect(cluster?.canary('shop', 'other')).toBeUndefined();
    expect((await get(a.https.port, '/metrics')).body).toContain(
      'meshwarden_detected_mesh{mesh="istio"} 1',
    );
  });

  it('answers admission reviews from its caches, without calling the API server', async () => {
    const a = await startReplica('replica-a');
    await waitFor(async () => (await get(a.https.port, '/readyz')).status === 200, 'readiness');
    fake.upsert(namespace('shop', { 'meshwarden.io/mesh': 'linkerd' }));
    await waitFor(
      () => a.runtime?.cluster.namespaceLabels('shop')?.['meshwarden.io/mesh'],
      'the label in the cache',
    );
    await waitFor(() => a.runtime?.meshDetector.decision, 'the first mesh detection');
    // Start-up work (Events, caBundle patches, detection) done: ten quiet polls in a row.
    const background = () => fake.requests.filter((r) => !r.path.includes('/leases/')).length;
    let quiet = 0;
    let seen = background();
    await waitFor(() => {
      const now = background();
      quiet = now === seen ? quiet + 1 : 0;
      seen = now;
      return quiet >= 10;
    }, 'the controller to settle');
    const before = background();
    const bad = policyConfigMap(
      'shop',
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 90\n',
    );
    for (let i = 0; i < 20; i++) {
      const review = await post(
        a.https.port,
        '/validate',
        makeReview({ object: bad, namespace: 'shop' }),
      );
      expect(review.body.response.allowed).toBe(false);
      expect(review.body.response.status.message).toContain('tighten-only');
    }
    expect(background()).toBe(before);
    expect(background()).toBe(before);
  });
});

describe('readiness in a cluster', () => {
  it('stays not ready until the policy ConfigMaps have been listed once', async () => {
    const fake = await FakeApiServer.start();
    const dir = await mkdtemp(join(tmpdir(), 'meshwarden-certs-'));
    const paths = await writeCertificates(dir, await generateCertificates());
    fake.failNext((r) => r.path === '/api/v1/configmaps' && r.query.watch === undefined, 503, 1e6);
    const flags = await parseServeFlags([
      '--kubeconfig',
      await fake.writeKubeconfig(),
      '--port',
      '0',
      '--cert',
      paths.cert,
      '--key',
      paths.key,
    ]);
    const { webhook } = await startServe(flags, { logger: silentLogger(), controller: tuning });
    try {
      await waitFor(
        () => fake.requests.filter((r) => r.path === '/api/v1/configmaps').length >= 3,
        'failed lists',
      );
      expect((await get(webhook.https.port, '/readyz')).status).toBe(503);
      expect(webhook.policy.loaded).toBe(false);
      fake.clearFailures();
      await waitFor(
        async () => (await get(webhook.https.port, '/readyz')).status === 200,
        'readiness after the first list',
      );
    } finally {
      await webhook.shutdown(0);
      await fake.close();
    }
  });
});

describe('meshwarden serve flags', () => {
  const usage = async (args: string[]) => {
    const flags = await parseServeFlags(args);
    return startServe(flags, { logger: silentLogger() }).then(
      () => 'started',
      (e: unknown) => (e as Error).message,
    );
  };

  it('refuses contradictory or unknown values with one line', async () => {
    expect(await usage(['--in-cluster', '--kubeconfig', 'k'])).toBe(
      '--in-cluster and --kubeconfig exclude each other',
    );
    expect(await usage(['--cert-mode', 'magic'])).toBe(
      '--cert-mode must be one of self-managed, external; got magic',
    );
    expect(await usage(['--cert-mode', 'self-managed'])).toBe(
      '--cert-mode self-managed needs --in-cluster or --kubeconfig',
    );
    expect(await usage(['--validate-on-timeout', 'maybe'])).toBe(
      '--validate-on-timeout must be one of allow, deny; got maybe',
    );
    expect(await usage(['--kubeconfig', '/nonexistent/kubeconfig', '--port', '0'])).toBe(
      '--kubeconfig /nonexistent/kubeconfig: ENOENT',
    );
    expect(await usage(['--leader-lease', ' '])).toBe('--leader-lease must not be empty');
  });

  it('has the defaults the Helm chart relies on', async () => {
    const flags = await parseServeFlags([]);
    expect(flags).toMatchObject({
      service: 'meshwarden',
      tlsSecret: 'meshwarden-tls',
      leaderLease: 'meshwarden-leader',
      mutateOnTimeout: 'allow',
      validateOnTimeout: 'deny',
    });
    expect(flags.certMode).toBeUndefined();
    expect(flags.inCluster).toBeUndefined();
  });
});
