import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../src/k8s/objects.js';
import { CertificateManager } from '../../../src/controller/certificates/manager.js';
import { splitPem } from '../../../src/controller/certificates/plan.js';
import type { ReplicaProbe } from '../../../src/controller/certificates/probe.js';
import { EventRecorder } from '../../../src/controller/events.js';
import {
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from '../../../src/controller/kube-client.js';
import { generateCertificates } from '../../../src/pki/issue.js';
import { FakeApiServer } from '../../helpers/fake-api-server.js';
import { silentLogger, waitFor } from '../../helpers/cluster.js';

const NS = 'meshwarden-system';
const DAY = 86_400_000;

const webhookConfig = (kind: 'Mutating' | 'Validating', caBundle?: string): KubeObject => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: `${kind}WebhookConfiguration`,
  metadata: { name: `meshwarden-${kind.toLowerCase()}` },
  webhooks: ['a', 'b'].map((n) => ({
    name: `${n}.meshwarden.io`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    clientConfig: {
      service: { name: 'meshwarden', namespace: NS, path: '/validate' },
      ...(caBundle === undefined ? {} : { caBundle }),
    },
  })),
});

describe('self-managed certificates', () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  let leader: boolean;
  let now: Date;
  let served: { cert: string; key: string } | undefined;
  let manager: CertificateManager;

  const start = (probe?: ReplicaProbe, timing = {}) => {
    manager = new CertificateManager({
      client,
      namespace: NS,
      secretName: 'meshwarden-tls',
      service: 'meshwarden',
      mutatingWebhook: 'meshwarden-mutating',
      validatingWebhook: 'meshwarden-validating',
      isLeader: () => leader,
      logger: silentLogger(),
      events: new EventRecorder({
        client,
        logger: silentLogger(),
        instance: 't',
        isLeader: () => leader,
      }),
      informer: { backoff: { initialMs: 20, maxMs: 100 } },
      clock: () => now,
      timing: { caBundleGraceMs: 0, checkIntervalMs: 3_600_000, ...timing },
      ...(probe ? { probe } : {}),
    });
    manager.attach({
      useKeyPair: (cert, key) => {
        served = { cert, key };
        return true;
      },
    });
    manager.start();
    return manager;
  };
  const secret = () =>
    fake.object('v1', 'Secret', NS, 'meshwarden-tls') as
      (KubeObject & { data: Record<string, string>; type: string }) | undefined;
  const bundleOf = (kind: 'Mutating' | 'Validating') =>
    (
      fake.object(
        'admissionregistration.k8s.io/v1',
        `${kind}WebhookConfiguration`,
        undefined,
        `meshwarden-${kind.toLowerCase()}`,
      ) as {
        webhooks: { clientConfig: { caBundle?: string } }[];
      }
    ).webhooks.map((w) => w.clientConfig.caBundle);
  const decode = (b64: string | undefined) => Buffer.from(b64 ?? '', 'base64').toString('utf8');
  /** Waits until every cache of the manager has seen the latest stored version, then reconciles. */
  const settle = async (passes = 4) => {
    for (let i = 0; i < passes; i++) {
      await manager.idle();
      await waitFor(() => {
        const [s, ...hooks] = manager.informers;
        const fresh = (cached: KubeObject | undefined, stored: KubeObject | undefined) =>
          cached?.metadata?.resourceVersion === stored?.metadata?.resourceVersion;
        return (
          fresh(s?.get('meshwarden-tls', NS), secret()) &&
          hooks.every((h) => {
            const name = h.source.fieldSelector?.split('=')[1] ?? '';
            return fresh(
              h.get(name),
              fake.object(h.source.apiVersion, h.source.kind, undefined, name),
            );
          })
        );
      }, 'caches to catch up');
      await manager.reconcile();
    }
  };

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    client = createKubeClient(await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }));
    leader = true;
    now = new Date();
    served = undefined;
    fake.upsert(webhookConfig('Mutating'));
    fake.upsert(webhookConfig('Validating'));
  });
  afterEach(async () => {
    await manager.stop();
    await fake.close();
  });

  it('bootstraps: the leader writes the TLS Secret, patches both caBundles, and the pair is served', async () => {
    start();
    const written = await waitFor(() => secret(), 'the Secret');
    expect(written.type).toBe('kubernetes.io/tls');
    expect(Object.keys(written.data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    const caPem = decode(written.data['ca.crt']);
    const leaf = new X509Certificate(decode(written.data['tls.crt']));
    expect(leaf.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(leaf.checkHost('meshwarden.meshwarden-system.svc')).toBe(
      'meshwarden.meshwarden-system.svc',
    );
    await waitFor(
      () => [...bundleOf('Mutating'), ...bundleOf('Validating')].every((b) => decode(b) === caPem),
      'caBundle on all four webhook entries',
    );
    await waitFor(() => served, 'the pair put in use');
    expect(served?.cert).toBe(decode(written.data['tls.crt']));
    const patches = fake.requests.filter((r) => r.method === 'PATCH');
    expect(patches.every((p) => p.contentType === 'application/json-patch+json')).toBe(true);
  });

  it('repairs a caBundle that something reset', async () => {
    start();
    await waitFor(() => bundleOf('Validating').every((b) => b !== undefined), 'the caBundle');
    // Let the bootstrap finish its other writes (the mutating configuration, Events) first.
    await settle();
    const wanted = bundleOf('Validating')[0];
    const patchesOfValidating = () =>
      fake.writes().filter((r) => r.path.includes('validatingwebhookconfigurations')).length;
    const before = patchesOfValidating();
    fake.upsert(webhookConfig('Validating', ''), 'helm');
    await waitFor(() => bundleOf('Validating').every((b) => b === wanted), 'the caBundle repaired');
    await settle();
    expect(patchesOfValidating()).toBe(before + 1);
  });

  it('on a replica that does not lead: writes nothing, serves the Secret pair once it appears', async () => {
    leader = false;
    start();
    await waitFor(() => manager.informers.every((i) => i.hasSynced), 'the caches');
    await manager.reconcile();
    expect(fake.writes()).toEqual([]);
    const bundle = await generateCertificates({ service: 'meshwarden', namespace: NS });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    fake.upsert({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'meshwarden-tls', namespace: NS },
      data: {
        'tls.crt': b64(bundle.cert),
        'tls.key': b64(bundle.key),
        'ca.crt': b64(bundle.caCert),
      },
    });
    await waitFor(() => served?.cert === bundle.cert, 'the pair from the Secret');
  });

  it('keeps trusting the published CA when the Secret is lost, until replicas serve the new pair', async () => {
    let replicaUpdated = false;
    start(() => Promise.resolve({ ok: replicaUpdated, detail: 'a replica with the old pair' }));
    await waitFor(() => secret(), 'the Secret');
    await settle();
    const firstCa = splitPem(decode(bundleOf('Validating')[0]))[0]?.fingerprint256;
    fake.remove('v1', 'Secret', NS, 'meshwarden-tls');
    await waitFor(() => secret(), 'a new Secret');
    await settle();
    const published = splitPem(decode(bundleOf('Validating')[0])).map((c) => c.fingerprint256);
    expect(published).toHaveLength(2);
    expect(published[1]).toBe(firstCa);
    replicaUpdated = true;
    await settle();
    expect(splitPem(decode(bundleOf('Validating')[0]))).toHaveLength(1);
  });

  it('keeps a valid Secret as it is', async () => {
    start();
    await waitFor(() => secret(), 'the Secret');
    await settle();
    const rv = secret()?.metadata?.resourceVersion;
    await settle();
    expect(secret()?.metadata?.resourceVersion).toBe(rv);
  });

  it('refuses a Secret of the wrong type with an Event, and leaves it alone', async () => {
    fake.upsert({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'meshwarden-tls', namespace: NS },
      data: {},
    });
    start();
    await waitFor(
      () => fake.objects('v1', 'Event').find((e) => e.reason === 'WrongSecretType'),
      'the Event',
    );
    expect(secret()?.type).toBe('Opaque');
  });

  it('rotates before expiry and never serves a certificate the published caBundle cannot verify', async () => {
    // Short lifetimes so that several leaf and CA rotations happen in the simulated time.
    const timing = { leafDays: 30, caDays: 120 };
    const probe: ReplicaProbe = (fingerprint) => {
      const current = served ? new X509Certificate(served.cert).fingerprint256 : '';
      return Promise.resolve({ ok: current === fingerprint, detail: 'replica' });
    };
    start(probe, timing);
    const start0 = now.getTime();
    const fingerprints = { leaves: new Set<string>(), cas: new Set<string>() };
    for (let day = 0; day <= 400; day += 5) {
      now = new Date(start0 + day * DAY);
      await settle(3);
      const pem = decode(bundleOf('Validating')[0]);
      expect(pem).toBe(decode(bundleOf('Mutating')[1]));
      const cas = splitPem(pem);
      const leaf = new X509Certificate(served?.cert ?? '');
      // The invariant: what is served chains to the published bundle and is valid now.
      expect(cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))).toBe(true);
      expect(Date.parse(leaf.validTo)).toBeGreaterThan(now.getTime());
      expect(Date.parse(leaf.validFrom)).toBeLessThanOrEqual(now.getTime());
      fingerprints.leaves.add(leaf.fingerprint256);
      for (const ca of cas) fingerprints.cas.add(ca.fingerprint256);
    }
    // 400 days with 30-day leaves and 120-day CAs: many leaves, several CAs, old CAs pruned.
    expect(fingerprints.leaves.size).toBeGreaterThanOrEqual(15);
    expect(fingerprints.cas.size).toBeGreaterThanOrEqual(5);
    expect(splitPem(decode(secret()?.data['ca.crt']))).toHaveLength(1);
  });

  it('keeps the old CA while a replica still serves the old certificate', async () => {
    const timing = { leafDays: 30, caDays: 120 };
    let replicaUpdated = false;
    const probe: ReplicaProbe = () =>
      Promise.resolve({ ok: replicaUpdated, detail: 'a stale replica' });
    start(probe, timing);
    await waitFor(() => secret(), 'the Secret');
    await settle();
    const firstCa = splitPem(decode(secret()?.data['ca.crt']))[0]?.fingerprint256;
    // Past 2/3 of the CA's life: a new CA, then a new leaf; the stale replica holds the old CA in.
    now = new Date(now.getTime() + 85 * DAY);
    await settle();
    now = new Date(now.getTime() + 1 * DAY);
    await settle();
    let bundle = splitPem(decode(secret()?.data['ca.crt'])).map((c) => c.fingerprint256);
    expect(bundle).toHaveLength(2);
    expect(bundle[1]).toBe(firstCa);
    replicaUpdated = true;
    await settle();
    bundle = splitPem(decode(secret()?.data['ca.crt'])).map((c) => c.fingerprint256);
    expect(bundle).toHaveLength(1);
    expect(bundle[0]).not.toBe(firstCa);
  });
});
