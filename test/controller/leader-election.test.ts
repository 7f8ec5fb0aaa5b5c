import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubeClient, loadKubeConfig } from '../../src/controller/kube-client.js';
import { LeaderElector, microTime } from '../../src/controller/leader-election.js';
import { FakeApiServer } from '../helpers/fake-api-server.js';
import { silentLogger, waitFor } from '../helpers/cluster.js';

const timing = { leaseDurationSeconds: 1, renewDeadlineMs: 600, retryPeriodMs: 50 };

describe('LeaderElector', () => {
  let fake: FakeApiServer;
  const electors: LeaderElector[] = [];

  const elector = async (identity: string, events: string[] = []) => {
    const client = createKubeClient(
      await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig(identity) }),
    );
    const e = new LeaderElector({
      client,
      namespace: 'meshwarden-system',
      name: 'meshwarden-leader',
      identity,
      logger: silentLogger(),
      timing,
      onStartedLeading: () => events.push(`${identity} leads`),
      onStoppedLeading: () => events.push(`${identity} stops`),
    });
    electors.push(e);
    return e;
  };
  const lease = () =>
    fake.object('coordination.k8s.io/v1', 'Lease', 'meshwarden-system', 'meshwarden-leader') as
      { spec: { holderIdentity: string; leaseTransitions: number; renewTime: string } } | undefined;

  beforeEach(async () => {
    fake = await FakeApiServer.start();
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await fake.close();
  });

  it('elects exactly one of two replicas and records it in the Lease', async () => {
    const a = await elector('replica-a');
    const b = await elector('replica-b');
    a.start();
    b.start();
    const leader = await waitFor(() => (a.isLeader ? a : b.isLeader ? b : undefined), 'a leader');
    // Several renewal rounds later there is still exactly one.
    await waitFor(
      () => fake.writes(leader.identity).filter((w) => w.method === 'PUT').length >= 5,
      'five renewals',
    );
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    expect(lease()?.spec.holderIdentity).toBe(leader.identity);
    expect(lease()?.spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const follower = leader === a ? 'replica-b' : 'replica-a';
    expect(fake.writes(follower).filter((w) => w.method === 'PUT')).toHaveLength(0);
  });

  it('hands over when the leader stops (released lease) and counts the transition', async () => {
    const events: string[] = [];
    const a = await elector('replica-a', events);
    a.start();
    await waitFor(() => a.isLeader, 'a to lead');
    const b = await elector('replica-b', events);
    b.start();
    await a.stop();
    expect(lease()?.spec.holderIdentity).not.toBe('replica-a');
    await waitFor(() => b.isLeader, 'b to take over');
    expect(events).toEqual(['replica-a leads', 'replica-a stops', 'replica-b leads']);
    expect(lease()?.spec.leaseTransitions).toBe(1);
  });

  it('takes over an expired lease only after watching it stay unrenewed for the lease duration', async () => {
    fake.upsert({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'meshwarden-leader', namespace: 'meshwarden-system' },
      spec: {
        holderIdentity: 'crashed-replica',
        leaseDurationSeconds: 1,
        renewTime: microTime(new Date()),
        leaseTransitions: 4,
      },
    });
    const b = await elector('replica-b');
    b.start();
    // Five attempts take well under the one-second lease duration: none may take over.
    await waitFor(
      () => fake.requests.filter((r) => r.token === 'replica-b' && r.method === 'GET').length >= 5,
      'five attempts',
    );
    expect(b.isLeader).toBe(false);
    await waitFor(() => b.isLeader, 'b to take the abandoned lease');
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 5 });
  });

  it('steps down when it cannot renew within the renew deadline', async () => {
    const events: string[] = [];
    const a = await elector('replica-a', events);
    a.start();
    await waitFor(() => a.isLeader, 'a to lead');
    fake.failNext((r) => r.path.includes('/leases/'), 500, 1000);
    await waitFor(() => !a.isLeader, 'a to step down');
    expect(events).toEqual(['replica-a leads', 'replica-a stops']);
  });
});
