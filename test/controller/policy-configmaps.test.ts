import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/controller/events.js';
import {
  createKubeClient,
  loadKubeConfig,
  type KubeClient,
} from '../../src/controller/kube-client.js';
import { PolicyConfigMaps } from '../../src/controller/policy-configmaps.js';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { policyConfigMap, silentLogger, waitFor } from '../helpers/cluster.js';

const INSTALL = 'meshwarden-system';
const policy = (spec: string) =>
  `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n${spec
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;

describe('policy from ConfigMaps', () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  let metrics: Metrics;
  let store: PolicyStore;
  let leader: boolean;
  let controller: PolicyConfigMaps;
  let clusterChanges: number;

  const start = () => {
    controller = new PolicyConfigMaps({
      client,
      store,
      installNamespace: INSTALL,
      base: DEFAULT_POLICY_SPEC,
      metrics,
      logger: silentLogger(),
      events: new EventRecorder({
        client,
        logger: silentLogger(),
        instance: 'test',
        isLeader: () => leader,
      }),
      informer: { backoff: { initialMs: 20, maxMs: 100 } },
      onClusterPolicyChange: () => clusterChanges++,
    });
    controller.start();
    return controller;
  };
  const counter = async (name: string, source: string) => {
    const line = (await metrics.registry.metrics())
      .split('\n')
      .find((l) => l.startsWith(`${name}{source="${source}"}`));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };
  const events = (reason: string) =>
    fake.objects('v1', 'Event').filter((e) => e.reason === reason) as {
      involvedObject: { name: string; namespace: string };
      message: string;
    }[];

  beforeEach(async () => {
    fake = await FakeApiServer.start();
    client = createKubeClient(await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }));
    metrics = createMetrics({ defaultMetrics: false });
    store = new PolicyStore(DEFAULT_POLICY_SPEC, false);
    leader = true;
    clusterChanges = 0;
  });
  afterEach(async () => {
    await controller.stop();
    await fake.close();
  });

  it('is not loaded until the first list; then the install-namespace ConfigMap is in force', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 10')));
    expect(store.loaded).toBe(false);
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.cluster.weightShift.maxStepWeight).toBe(10);
    expect(await counter('meshwarden_policy_reloads_total', `configmap/${INSTALL}`)).toBe(1);
  });

  it('uses the base policy when there is no ConfigMap, and becomes loaded', async () => {
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.cluster).toEqual(DEFAULT_POLICY_SPEC);
  });

  it('puts a valid change in force without a restart', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('enforcement: warn')));
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.cluster.enforcement).toBe('warn');
    fake.upsert(policyConfigMap(INSTALL, policy('enforcement: audit\nmesh: linkerd')));
    await waitFor(() => store.cluster.enforcement === 'audit', 'the change');
    expect(store.cluster.mesh).toBe('linkerd');
    expect(clusterChanges).toBe(2);
  });

  it('keeps the last valid policy when a ConfigMap turns bad, and reports it (log, metric, Event)', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 10')));
    start();
    await waitFor(() => store.loaded, 'the first load');
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: lots')));
    await waitFor(() => controller.problems().has(INSTALL), 'the problem');
    expect(store.cluster.weightShift.maxStepWeight).toBe(10);
    expect(await counter('meshwarden_policy_reload_errors_total', `configmap/${INSTALL}`)).toBe(1);
    const [event] = await waitFor(() => {
      const found = events('InvalidPolicy');
      return found.length > 0 && found;
    }, 'an InvalidPolicy Event');
    expect(event?.involvedObject).toMatchObject({ name: 'meshwarden-policy', namespace: INSTALL });
    expect(event?.message).toContain('spec.weightShift.maxStepWeight');
    expect(event?.message).toContain('the last valid policy stays in force');
    // Fixed again: in force, problem gone.
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 5')));
    await waitFor(() => store.cluster.weightShift.maxStepWeight === 5, 'the fixed policy');
    expect(controller.problems().size).toBe(0);
  });

  it('uses the base policy when the first ConfigMap is already invalid (readiness does not hang)', async () => {
    fake.upsert(policyConfigMap(INSTALL, 'not: [valid'));
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.cluster).toEqual(DEFAULT_POLICY_SPEC);
    expect(controller.problems().get(INSTALL)).toContain('not valid YAML');
  });

  it('refuses a namespace override that loosens, and applies one that tightens', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 20')));
    fake.upsert(policyConfigMap('shop', policy('weightShift:\n  maxStepWeight: 50')));
    fake.upsert(policyConfigMap('bank', policy('weightShift:\n  maxStepWeight: 5')));
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(20);
    expect(store.namespaceOverride('shop')).toBeUndefined();
    expect(controller.problems().get('shop')).toContain('looser than the cluster');
    expect(store.forNamespace('bank').weightShift.maxStepWeight).toBe(5);
    const refused = await waitFor(
      () => events('InvalidPolicy').find((e) => e.involvedObject.namespace === 'shop'),
      'an Event on the refused override',
    );
    expect(refused.message).toContain('tighten-only');
    expect(await counter('meshwarden_policy_reload_errors_total', 'configmap/shop')).toBe(1);
  });

  it('judges overrides again when the cluster policy changes', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 20')));
    fake.upsert(policyConfigMap('shop', policy('weightShift:\n  maxStepWeight: 30')));
    start();
    await waitFor(() => store.loaded, 'the first load');
    expect(store.namespaceOverride('shop')).toBeUndefined();
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: 40')));
    await waitFor(() => store.namespaceOverride('shop'), 'the override, now tighter');
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(30);
  });

  it('keeps a namespace override that turns invalid, and removes it when deleted', async () => {
    fake.upsert(
      policyConfigMap('bank', policy('enforcement: enforce\nweightShift:\n  maxStepWeight: 5')),
    );
    start();
    await waitFor(() => store.namespaceOverride('bank'), 'the override');
    fake.upsert(policyConfigMap('bank', policy('weightShift:\n  maxStepWeight: -1')));
    await waitFor(() => controller.problems().has('bank'), 'the problem');
    expect(store.forNamespace('bank').weightShift.maxStepWeight).toBe(5);
    fake.remove('v1', 'ConfigMap', 'bank', 'meshwarden-policy');
    await waitFor(() => store.namespaceOverride('bank') === undefined, 'the override removed');
    expect(controller.problems().has('bank')).toBe(false);
  });

  it('goes back to the base policy when the cluster ConfigMap is deleted', async () => {
    fake.upsert(policyConfigMap(INSTALL, policy('enforcement: warn')));
    start();
    await waitFor(() => store.cluster.enforcement === 'warn', 'the ConfigMap policy');
    fake.remove('v1', 'ConfigMap', INSTALL, 'meshwarden-policy');
    await waitFor(() => store.cluster.enforcement === 'enforce', 'the base policy');
  });

  it('on a replica that does not lead: applies policies, writes no Event', async () => {
    leader = false;
    fake.upsert(policyConfigMap(INSTALL, policy('weightShift:\n  maxStepWeight: nope')));
    fake.upsert(policyConfigMap('shop', policy('enforcement: enforce')));
    start();
    await waitFor(() => store.namespaceOverride('shop'), 'the override');
    expect(controller.problems().has(INSTALL)).toBe(true);
    expect(fake.writes()).toEqual([]);
    // Leadership arrives: the outstanding problem is recorded then.
    leader = true;
    controller.reportOutstanding();
    await waitFor(() => events('InvalidPolicy').length === 1, 'the Event from the new leader');
  });
});
