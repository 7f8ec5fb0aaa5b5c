import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Discovery } from '../../src/controller/discovery.js';
import {
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from '../../src/controller/kube-client.js';
import {
  decideMesh,
  DETECTION_ORDER,
  gatherEvidence,
  MESH_SIGNATURES,
  MeshDetector,
  type MeshEvidence,
} from '../../src/controller/mesh-detection.js';
import { MESH_IDS, type MeshId } from '../../src/mesh/ids.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { installIstioVirtualService, recordingLogger, silentLogger } from '../helpers/cluster.js';

const ev = (mesh: MeshId, kind: MeshEvidence['kind']): MeshEvidence => ({
  mesh,
  kind,
  detail: `${kind} of ${mesh}`,
});

describe('decideMesh (the documented rule)', () => {
  it('finds nothing without evidence: auto then means fallbackMesh', () => {
    expect(decideMesh([], 'istio')).toMatchObject({ mesh: undefined, basis: 'none' });
  });

  it('prefers a running control plane over API groups alone (CRDs outlive uninstalls)', () => {
    const decision = decideMesh(
      [ev('istio', 'api-group'), ev('linkerd', 'api-group'), ev('linkerd', 'control-plane')],
      'istio',
    );
    expect(decision).toMatchObject({
      mesh: 'linkerd',
      basis: 'control-plane',
      candidates: ['linkerd'],
    });
  });

  it('counts an injector webhook entry as a running control plane', () => {
    expect(
      decideMesh([ev('kuma', 'injector-webhook'), ev('istio', 'api-group')], 'istio').mesh,
    ).toBe('kuma');
  });

  it('breaks ties with the policy fallbackMesh when it is a candidate, else the detection order', () => {
    const both = [ev('istio', 'control-plane'), ev('linkerd', 'injector-webhook')];
    expect(decideMesh(both, 'linkerd')).toMatchObject({
      mesh: 'linkerd',
      candidates: ['istio', 'linkerd'],
    });
    expect(decideMesh(both, 'consul').mesh).toBe('istio');
    expect(decideMesh(both, 'consul').reason).toContain('meshwarden.io/mesh');
  });

  it('chooses gateway-api only when no mesh at all is found', () => {
    expect(decideMesh([ev('gateway-api', 'api-group')], 'istio')).toMatchObject({
      mesh: 'gateway-api',
      basis: 'gateway-api',
    });
    expect(
      decideMesh([ev('gateway-api', 'api-group'), ev('linkerd', 'api-group')], 'istio').mesh,
    ).toBe('linkerd');
  });

  it('covers every mesh, in a fixed order', () => {
    expect([...DETECTION_ORDER].sort()).toEqual([...MESH_IDS].sort());
    for (const s of MESH_SIGNATURES) expect(s.apiGroups.length).toBeGreaterThan(0);
  });
});

describe('mesh evidence from the API server', () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  let discovery: Discovery;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    client = createKubeClient(await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }));
    discovery = new Discovery(client);
  });
  afterEach(() => fake.close());

  const deployment = (namespace: string, name: string, replicas = 1) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas },
  });

  it('reads API groups, injector webhook entries and control-plane Deployments', async () => {
    installIstioVirtualService(fake);
    fake.upsert({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'linkerd-proxy-injector-webhook-config' },
      webhooks: [{ name: 'linkerd-proxy-injector.linkerd.io' }],
    });
    fake.upsert(deployment('istio-system', 'istiod-1-22'));
    fake.upsert(deployment('kuma-system', 'kuma-control-plane', 0));
    await discovery.refresh();
    const evidence = await gatherEvidence(client, discovery);
    expect(evidence).toEqual([
      { mesh: 'istio', kind: 'api-group', detail: 'API group networking.istio.io' },
      {
        mesh: 'linkerd',
        kind: 'injector-webhook',
        detail: 'injector webhook linkerd-proxy-injector.linkerd.io',
      },
      { mesh: 'istio', kind: 'control-plane', detail: 'Deployment istio-system/istiod-1-22' },
    ]);
  });

  it('logs the decision, sets the metric, and re-decides when the policy fallback changes', async () => {
    fake.upsert(deployment('istio-system', 'istiod'));
    fake.upsert(deployment('linkerd', 'linkerd-destination'));
    await discovery.refresh();
    const metrics = createMetrics({ defaultMetrics: false });
    const lines: Record<string, unknown>[] = [];
    let fallback: MeshId = 'consul';
    const detector = new MeshDetector({
      client,
      discovery,
      metrics,
      logger: recordingLogger(lines),
      fallbackMesh: () => fallback,
    });
    expect((await detector.refresh()).mesh).toBe('istio');
    expect(detector.detectedMesh()).toBe('istio');
    const text = await metrics.registry.metrics();
    expect(text).toContain('meshwarden_detected_mesh{mesh="istio"} 1');
    expect(text).toContain('meshwarden_detected_mesh{mesh="linkerd"} 0');
    expect(lines.some((l) => String(l.msg).includes('several meshes found (istio, linkerd)'))).toBe(
      true,
    );
    fallback = 'linkerd';
    expect(detector.reevaluate().mesh).toBe('linkerd');
  });

  it('reports the mesh in force as the fallback in the metric when none is found', async () => {
    await discovery.refresh();
    const metrics = createMetrics({ defaultMetrics: false });
    const detector = new MeshDetector({
      client,
      discovery,
      metrics,
      logger: silentLogger(),
      fallbackMesh: () => 'linkerd',
    });
    expect((await detector.refresh()).mesh).toBeUndefined();
    expect(await metrics.registry.metrics()).toContain(
      'meshwarden_detected_mesh{mesh="linkerd"} 1',
    );
  });

  it('decides without the evidence it may not read (RBAC), and says so once', async () => {
    fake.failNext((r) => r.path.endsWith('/mutatingwebhookconfigurations'), 403, 2);
    fake.upsert(deployment('istio-system', 'istiod'));
    await discovery.refresh();
    const lines: Record<string, unknown>[] = [];
    const detector = new MeshDetector({
      client,
      discovery,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: recordingLogger(lines),
      fallbackMesh: () => 'linkerd',
    });
    expect((await detector.refresh()).mesh).toBe('istio');
    await detector.refresh();
    expect(lines.filter((l) => String(l.msg).includes('(RBAC)'))).toHaveLength(1);
  });
});
