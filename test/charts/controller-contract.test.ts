import { beforeAll, describe, expect, it } from 'vitest';
import { CONSULTED_KINDS, WRITTEN_KINDS } from '../../src/mesh/registry.js';
import { TRAFFIC_SPLIT_GROUP } from '../../src/traffic/smi/api.js';
import { parseServeFlags } from '../helpers/cli.js';
import { NAMESPACE, RELEASE, render, requireHelm, type KubeObject } from './helm.js';

/**
 * The seam between the chart and the code it runs: the container's arguments must mean what the
 * chart intends to `meshwarden serve`, and RBAC must grant every call the controller makes
 * (src/controller: watches, server-side apply, Events, the Lease, the certificate Secret).
 */

function container(objects: KubeObject[]) {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  return deployment?.spec.template.spec.containers[0] as { command?: string[]; args: string[] };
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

function grants(
  objects: KubeObject[],
  kind: 'ClusterRole' | 'Role',
  group: string,
  resource: string,
  verb: string,
): boolean {
  return objects
    .filter((o) => o.kind === kind && !o.metadata.annotations?.['helm.sh/hook'])
    .flatMap((o) => (o.rules ?? []) as Rule[])
    .some(
      (r) =>
        r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb),
    );
}

beforeAll(() => requireHelm());

describe('chart and controller agree', () => {
  it('the default install runs serve in-cluster, self-managed, with the release names', async () => {
    const { objects } = render();
    const flags = await parseServeFlags(container(objects).args);
    expect(flags).toMatchObject({
      port: '8443',
      metricsPort: '9090',
      cert: '/etc/meshwarden/tls/tls.crt',
      key: '/etc/meshwarden/tls/tls.key',
      inCluster: true,
      installNamespace: NAMESPACE,
      certMode: 'self-managed',
      mutateOnTimeout: 'allow',
      validateOnTimeout: 'deny',
    });
    const names = (kind: string) =>
      objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    expect(names('MutatingWebhookConfiguration')).toContain(flags.mutatingWebhook);
    expect(names('ValidatingWebhookConfiguration')).toContain(flags.validatingWebhook);
    expect(names('Service')).toContain(flags.service);
    expect(flags.leaderLease).toContain(RELEASE);
  });

  it('failure policies reach the engine as timeout answers', async () => {
    const { objects } = render({
      values: [
        {
          webhooks: {
            mutating: { failurePolicy: 'Fail' },
            validating: { failurePolicy: 'Ignore' },
          },
        },
      ],
    });
    const flags = await parseServeFlags(container(objects).args);
    expect(flags).toMatchObject({ mutateOnTimeout: 'deny', validateOnTimeout: 'allow' });
  });

  const CLUSTER_READS: [string, string][] = [
    ['', 'namespaces'],
    ['', 'services'],
    ['', 'configmaps'],
    ['apps', 'deployments'],
    ['apiextensions.k8s.io', 'customresourcedefinitions'],
    ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
    ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
    ['split.smi-spec.io', 'trafficsplits'],
    ['specs.smi-spec.io', 'httproutegroups'],
    ['flagger.app', 'canaries'],
  ];
  it.each(CLUSTER_READS)('RBAC lets the watch caches list and watch %s/%s', (group, resource) => {
    const { objects } = render();
    for (const verb of ['list', 'watch'])
      expect(
        grants(objects, 'ClusterRole', group, resource, verb),
        `${verb} ${group}/${resource}`,
      ).toBe(true);
  });

  const WRITES: [string, string][] = [
    ['networking.istio.io', 'virtualservices'],
    ['gateway.networking.k8s.io', 'httproutes'],
    ['consul.hashicorp.com', 'servicesplitters'],
    ['appmesh.k8s.aws', 'virtualrouters'],
    ['gateway.solo.io', 'virtualservices'],
    ['gateway.solo.io', 'routetables'],
  ];
  it.each(WRITES)(
    'RBAC lets the reconciler server-side apply and prune %s/%s',
    (group, resource) => {
      const { objects } = render();
      for (const verb of ['list', 'watch', 'patch', 'delete'])
        expect(grants(objects, 'ClusterRole', group, resource, verb), verb).toBe(true);
    },
  );

  // From the registry: every kind a writer produces (routes and prerequisites) is applied and
  // pruned, and every kind a writer consults is watched, whatever the chart's lists say.
  const derivedWrites: [string, string][] = WRITTEN_KINDS.filter(
    (k) => k.group !== TRAFFIC_SPLIT_GROUP,
  ).map((k) => [k.group, `${k.kind.toLowerCase()}${k.kind.endsWith('s') ? '' : 's'}`]);
  it.each(derivedWrites)(
    'RBAC lets the reconciler apply and prune written kind %s/%s',
    (group, resource) => {
      const { objects } = render();
      for (const verb of ['list', 'watch', 'patch', 'delete'])
        expect(grants(objects, 'ClusterRole', group, resource, verb), verb).toBe(true);
    },
  );
  it.each(CONSULTED_KINDS.map((k) => [k.group, k.resource]))(
    'RBAC lets translation read consulted kind %s/%s',
    (group, resource) => {
      const { objects } = render();
      for (const verb of ['list', 'watch'])
        expect(grants(objects, 'ClusterRole', group, resource, verb), verb).toBe(true);
    },
  );

  it('RBAC covers Events, the Lease, the certificate Secret and the endpoint probe in the release namespace', () => {
    const { objects } = render();
    expect(grants(objects, 'ClusterRole', '', 'events', 'create')).toBe(true);
    for (const verb of ['create', 'get', 'update'])
      expect(grants(objects, 'Role', 'coordination.k8s.io', 'leases', verb), verb).toBe(true);
    for (const verb of ['create', 'get', 'list', 'watch', 'update'])
      expect(grants(objects, 'Role', '', 'secrets', verb), verb).toBe(true);
    expect(grants(objects, 'Role', 'discovery.k8s.io', 'endpointslices', 'list')).toBe(true);
    expect(
      grants(
        objects,
        'ClusterRole',
        'admissionregistration.k8s.io',
        'validatingwebhookconfigurations',
        'patch',
      ),
    ).toBe(true);
  });
});
