/**
 * Against a real cluster: runs when KUBECONFIG names a readable kubeconfig with a current
 * context, and is counted as skipped otherwise. Everything happens in a scratch namespace
 * `meshwarden-e2e-<random>` and two webhook configurations of the same name that match no
 * object; all of it is deleted afterwards. The SMI TrafficSplit CRD is installed (and removed
 * again) only if the cluster does not serve it already. See docs/cluster.md for a kind recipe.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/k8s/objects.js';
import { Discovery } from '../../src/controller/discovery.js';
import {
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from '../../src/controller/kube-client.js';
import { startWebhook, type RunningWebhook } from '../../src/app/serve.js';
import { translateTrafficSplit } from '../../src/translation/translate.js';
import { silentLogger, waitFor } from '../helpers/cluster.js';

const kubeconfig = process.env.KUBECONFIG?.split(delimiter).find((f) => f !== '');

function usable(file: string | undefined): file is string {
  if (file === undefined || !existsSync(file)) return false;
  try {
    const doc = parse(readFileSync(file, 'utf8')) as { 'current-context'?: string } | null;
    return typeof doc?.['current-context'] === 'string' && doc['current-context'] !== '';
  } catch {
    return false;
  }
}

const TIMEOUT = 120_000;
/** Poll a real API server gently. */
const POLL_MS = 500;
const suffix = randomBytes(3).toString('hex');
const NS = `meshwarden-e2e-${suffix}`;
const WEBHOOK = `meshwarden-e2e-${suffix}`;

describe.skipIf(!usable(kubeconfig))('against the cluster in KUBECONFIG', () => {
  let client: KubeClient;
  let webhook: RunningWebhook;
  let installedCrd = false;

  const webhookConfiguration = (kind: 'Mutating' | 'Validating'): KubeObject => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: WEBHOOK },
    webhooks: [
      {
        name: `${kind.toLowerCase()}.e2e.meshwarden.io`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        // Matches nothing: the test only checks that caBundle is managed.
        objectSelector: { matchLabels: { 'meshwarden-e2e': suffix } },
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['configmaps'],
          },
        ],
        clientConfig: { service: { name: 'meshwarden', namespace: NS, path: '/validate' } },
      },
    ],
  });
  const policy = (maxStepWeight: number): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'meshwarden-policy', namespace: NS },
    data: {
      'policy.yaml': `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: ${maxStepWeight}\n`,
    },
  });

  beforeAll(async () => {
    client = createKubeClient(await loadKubeConfig({ kubeconfig: kubeconfig }));
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS, labels: { 'meshwarden.io/mesh': 'gateway-api' } },
    });
    for (const kind of ['Mutating', 'Validating'] as const)
      await client.create(
        `/apis/admissionregistration.k8s.io/v1/${kind.toLowerCase()}webhookconfigurations`,
        webhookConfiguration(kind),
      );
    await client.create(`/api/v1/namespaces/${NS}/configmaps`, policy(7));
    const discovery = new Discovery(client);
    await discovery.refresh();
    if (!discovery.hasGroup('split.smi-spec.io')) {
      const crd = parseAllDocuments(
        readFileSync(
          new URL('../fixtures/controller/smi-sdk-go_split.yaml', import.meta.url),
          'utf8',
        ),
      )
        .map((d) => d.toJS() as KubeObject)
        .find((d) => d.kind === 'CustomResourceDefinition');
      await client.create(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        crd as KubeObject,
      );
      installedCrd = true;
      await waitFor(
        async () => (await discovery.refresh(), discovery.hasGroup('split.smi-spec.io')),
        'the TrafficSplit CRD to be served',
        60_000,
        POLL_MS,
      );
    }
    webhook = await startWebhook({
      port: 0,
      kubeconfig: kubeconfig,
      installNamespace: NS,
      certMode: 'self-managed',
      mutatingWebhook: WEBHOOK,
      validatingWebhook: WEBHOOK,
      leaderLease: 'meshwarden-e2e',
      podName: `e2e-${suffix}`,
      drainSeconds: 0,
      logger: silentLogger(),
      controller: { discoveryRefreshMs: 5_000, resyncMs: 30_000 },
    });
  }, TIMEOUT);

  afterAll(async () => {
    await webhook?.shutdown(0);
    if (!client) return;
    for (const kind of ['mutating', 'validating'])
      await client.delete(
        `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations/${WEBHOOK}`,
      );
    await client.delete(`/api/v1/namespaces/${NS}`);
    if (installedCrd)
      await client.delete(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trafficsplits.split.smi-spec.io',
      );
  }, TIMEOUT);

  it(
    'elects itself leader on the Lease',
    async () => {
      const lease = await waitFor(
        async () => {
          const l = await client.get(
            `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/meshwarden-e2e`,
          );
          return (
            (l?.spec as { holderIdentity?: string } | undefined)?.holderIdentity ===
              `e2e-${suffix}` && l
          );
        },
        'the Lease held by this instance',
        60_000,
        POLL_MS,
      );
      expect(lease.metadata?.name).toBe('meshwarden-e2e');
    },
    TIMEOUT,
  );

  it(
    'creates the TLS Secret, patches both caBundles, and becomes ready',
    async () => {
      const secret = await waitFor(
        () => client.get(`/api/v1/namespaces/${NS}/secrets/meshwarden-tls`),
        'the Secret',
        60_000,
        POLL_MS,
      );
      expect(secret.type).toBe('kubernetes.io/tls');
      const ca = (secret.data as Record<string, string>)['ca.crt'];
      for (const kind of ['mutating', 'validating'])
        await waitFor(
          async () => {
            const config = await client.get(
              `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations/${WEBHOOK}`,
            );
            return (
              (config?.webhooks as { clientConfig: { caBundle?: string } }[] | undefined)?.[0]
                ?.clientConfig.caBundle === ca
            );
          },
          `the ${kind} caBundle`,
          60_000,
          POLL_MS,
        );
      await waitFor(() => webhook.lifecycle.ready, 'readiness', 60_000);
    },
    TIMEOUT,
  );

  it(
    'takes its policy from the ConfigMap and reloads it',
    async () => {
      await waitFor(
        () => webhook.policy.cluster.weightShift.maxStepWeight === 7,
        'the ConfigMap policy',
        60_000,
        POLL_MS,
      );
      await client.replace(`/api/v1/namespaces/${NS}/configmaps/meshwarden-policy`, policy(9));
      await waitFor(
        () => webhook.policy.cluster.weightShift.maxStepWeight === 9,
        'the reloaded policy',
        60_000,
        POLL_MS,
      );
    },
    TIMEOUT,
  );

  it(
    'reconciles a TrafficSplit into the native object, or says why on the split',
    async () => {
      const discovery = new Discovery(client);
      await discovery.refresh();
      const group = discovery.groups().get('split.smi-spec.io');
      const apiVersion = `split.smi-spec.io/${group?.preferredVersion ?? 'v1alpha4'}`;
      const split = await client.create(`/apis/${apiVersion}/namespaces/${NS}/trafficsplits`, {
        apiVersion,
        kind: 'TrafficSplit',
        metadata: { name: 'web', namespace: NS },
        spec: {
          service: 'web',
          backends: [
            { service: 'web-v1', weight: 90 },
            { service: 'web-v2', weight: 10 },
          ],
        },
      });
      const expected = translateTrafficSplit(split, 'gateway-api');
      const eventWith = (reason: string) =>
        waitFor(
          async () => {
            const events = await client.list(`/api/v1/namespaces/${NS}/events`);
            return events.items.find(
              (e) => e.reason === reason && (e.involvedObject as { name?: string }).name === 'web',
            );
          },
          `a ${reason} Event on the split`,
          60_000,
          POLL_MS,
        );
      if (!expected.ok) {
        await eventWith('TranslationFailed');
        return;
      }
      for (const object of expected.objects) {
        const resource = await discovery.resolve(object.apiVersion ?? '', object.kind ?? '');
        if (!resource) {
          await eventWith('KindNotServed');
          continue;
        }
        const native = await waitFor(
          () =>
            client.get(
              `/apis/${object.apiVersion}/namespaces/${NS}/${resource.name}/${object.metadata?.name ?? ''}`,
            ),
          `${object.kind} ${object.metadata?.name ?? ''}`,
          60_000,
          POLL_MS,
        );
        expect(native.metadata?.ownerReferences?.[0]).toMatchObject({
          kind: 'TrafficSplit',
          name: 'web',
          uid: split.metadata?.uid,
          controller: true,
        });
      }
    },
    TIMEOUT,
  );
});
