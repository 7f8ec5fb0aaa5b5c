import { beforeAll, describe, expect, it } from 'vitest';
import {
  find,
  fullnameOf,
  helmTemplate,
  isHook,
  MESHES,
  PROFILES,
  render,
  requireHelm,
  type KubeObject,
  type RenderOptions,
} from './helm.js';

beforeAll(() => {
  requireHelm();
});

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

/** One entry per (role, group, resource) with the verbs and names a rule grants. */
interface Grant {
  readonly role: string;
  /** 'cluster' for a ClusterRole, else the Role's namespace. */
  readonly scope: string;
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

function grants(objects: readonly KubeObject[], includeHooks = false): Grant[] {
  return objects
    .filter((o) => (o.kind === 'ClusterRole' || o.kind === 'Role') && (includeHooks || !isHook(o)))
    .flatMap((role) =>
      (role.rules as PolicyRule[]).flatMap((rule) =>
        (rule.apiGroups ?? []).flatMap((group) =>
          (rule.resources ?? []).map((resource) => ({
            role: `${role.kind}/${role.metadata.name}`,
            scope: role.kind === 'ClusterRole' ? 'cluster' : role.metadata.namespace!,
            group,
            resource,
            verbs: rule.verbs,
            ...(rule.resourceNames ? { resourceNames: rule.resourceNames } : {}),
          })),
        ),
      ),
    );
}

/** Verbs a group/resource gets across all rules, optionally only those limited to names. */
function verbsFor(all: Grant[], group: string, resource: string): string[] {
  return [
    ...new Set(
      all.filter((g) => g.group === group && g.resource === resource).flatMap((g) => g.verbs),
    ),
  ].sort();
}

const ROUTE_WRITES: Record<string, [string, string][]> = {
  istio: [['networking.istio.io', 'virtualservices']],
  linkerd: [['gateway.networking.k8s.io', 'httproutes']],
  kuma: [['gateway.networking.k8s.io', 'httproutes']],
  'gateway-api': [['gateway.networking.k8s.io', 'httproutes']],
  consul: [
    ['consul.hashicorp.com', 'servicesplitters'],
    ['consul.hashicorp.com', 'servicedefaults'],
  ],
  appmesh: [
    ['appmesh.k8s.aws', 'virtualrouters'],
    // The root's App Mesh VirtualService and the backends' VirtualNodes, where none exist.
    ['appmesh.k8s.aws', 'virtualservices'],
    ['appmesh.k8s.aws', 'virtualnodes'],
  ],
  gloo: [
    ['gateway.solo.io', 'virtualservices'],
    ['gateway.solo.io', 'routetables'],
  ],
  osm: [],
};
const ALL_ROUTE_KINDS = [
  ...new Set(
    Object.values(ROUTE_WRITES)
      .flat()
      .map((x) => x.join('/')),
  ),
];

function expectedRouteWrites(options: RenderOptions): string[] {
  const mesh =
    (options.values?.[0] as { policy?: { mesh?: string } } | undefined)?.policy?.mesh ?? 'auto';
  return mesh === 'auto' ? ALL_ROUTE_KINDS : ROUTE_WRITES[mesh]!.map((x) => x.join('/'));
}

describe.each(PROFILES)('RBAC, profile $name', ({ options }) => {
  const namespace = options.namespace ?? 'meshwarden-system';
  const release = fullnameOf(options);
  const selfManaged = !(options.valuesFiles ?? []).some((f) =>
    /cert-manager|existing-secret/.test(f),
  );

  it('has no wildcard anywhere, and no non-resource URLs', () => {
    const { objects } = render(options);
    for (const role of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of role.rules as PolicyRule[]) {
        const values = [
          ...(rule.apiGroups ?? []),
          ...(rule.resources ?? []),
          ...(rule.resourceNames ?? []),
          ...rule.verbs,
        ];
        for (const v of values)
          expect(v, `${role.metadata.name}: ${JSON.stringify(rule)}`).not.toContain('*');
        expect(rule.nonResourceURLs).toBeUndefined();
      }
    }
  });

  it('never grants escalate, bind, impersonate or deletecollection', () => {
    const { objects } = render(options);
    for (const g of grants(objects, true)) {
      for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection'])
        expect(g.verbs).not.toContain(v);
    }
  });

  it('writes only native route kinds, Events, its Lease, its TLS Secret and its webhook configurations', () => {
    const { objects } = render(options);
    const webhookConfig = find(objects, 'MutatingWebhookConfiguration').metadata.name;
    const writes = grants(objects).filter((g) => g.verbs.some((v) => !READ_VERBS.has(v)));
    const routeWrites = expectedRouteWrites(options);
    for (const g of writes) {
      const id = `${g.group}/${g.resource}`;
      const where = `${g.role} ${id} ${JSON.stringify(g.verbs)}`;
      if (routeWrites.includes(id)) {
        expect(g.scope, where).toBe('cluster');
        expect(g.verbs, where).toEqual(['create', 'update', 'patch', 'delete']);
      } else if (g.resource === 'events') {
        expect(['', 'events.k8s.io'], where).toContain(g.group);
        expect(g.verbs, where).toEqual(['create', 'patch']);
      } else if (id === 'coordination.k8s.io/leases' || id === '/secrets') {
        if (id === '/secrets') expect(selfManaged, where).toBe(true);
        // Namespaced: create cannot name its object, so it is held to the release namespace;
        // every other write names the one object.
        expect(g.scope, where).toBe(namespace);
        if (g.resourceNames === undefined) expect(g.verbs, where).toEqual(['create']);
        else {
          expect(g.resourceNames, where).toEqual([
            id === '/secrets' ? `${release}-tls` : `${release}-leader`,
          ]);
          expect(
            g.verbs.filter((v) => !READ_VERBS.has(v)),
            where,
          ).toEqual(['update', 'patch']);
        }
      } else if (g.group === 'admissionregistration.k8s.io') {
        expect(selfManaged, where).toBe(true);
        expect(
          ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
          where,
        ).toContain(g.resource);
        expect(g.resourceNames, where).toEqual([webhookConfig]);
        expect(g.verbs, where).toEqual(['update', 'patch']);
      } else {
        throw new Error(`unexpected write grant: ${where}`);
      }
    }
    // And every route kind the mesh needs is writable.
    for (const id of routeWrites) {
      const [group, resource] = id.split('/') as [string, string];
      expect(verbsFor(writes, group, resource), id).toEqual([
        'create',
        'delete',
        'patch',
        'update',
      ]);
    }
  });

  it('reads what the caches watch and mesh detection looks at', () => {
    const { objects } = render(options);
    const all = grants(objects);
    const reads: [string, string][] = [
      ['', 'namespaces'],
      ['apps', 'deployments'],
      ['apiextensions.k8s.io', 'customresourcedefinitions'],
      ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
      ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
      ['split.smi-spec.io', 'trafficsplits'],
      ['flagger.app', 'canaries'],
      ...ALL_ROUTE_KINDS.map((id) => id.split('/') as [string, string]),
    ];
    for (const [group, resource] of reads) {
      const unnamed = all.filter(
        (g) =>
          g.group === group && g.resource === resource && g.scope === 'cluster' && !g.resourceNames,
      );
      expect(
        unnamed
          .flatMap((g) => g.verbs)
          .filter((v) => READ_VERBS.has(v))
          .sort(),
        `${group}/${resource}`,
      ).toEqual(['get', 'list', 'watch']);
    }
    // ConfigMaps: only the policy ones, in every namespace.
    const configmaps = all.filter((g) => g.resource === 'configmaps');
    expect(configmaps).toEqual([
      {
        role: `ClusterRole/${release}`,
        scope: 'cluster',
        group: '',
        resource: 'configmaps',
        verbs: ['get', 'list', 'watch'],
        resourceNames: ['meshwarden-policy'],
      },
    ]);
  });

  it('gives Secrets access only in self-managed mode, and only in the release namespace', () => {
    const { objects } = render(options);
    const secrets = grants(objects).filter((g) => g.resource === 'secrets');
    if (selfManaged) {
      expect(secrets.map((g) => g.scope)).toEqual([namespace, namespace]);
      expect(secrets.map((g) => g.resourceNames ?? null)).toEqual([null, [`${release}-tls`]]);
    } else {
      expect(secrets).toEqual([]);
    }
  });

  it('binds the roles to the webhook ServiceAccount', () => {
    const { objects } = render(options);
    const sa = find(
      objects.filter((o) => !isHook(o)),
      'ServiceAccount',
    );
    expect(find(objects, 'Deployment').spec.template.spec.serviceAccountName).toBe(
      sa.metadata.name,
    );
    for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
      const binding = find(
        objects.filter((o) => !isHook(o)),
        kind,
      );
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: sa.metadata.name, namespace },
      ]);
      expect(binding.roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: kind.replace('Binding', ''),
        name: release,
      });
    }
  });
});

describe('RBAC follows values', () => {
  it.each(MESHES)('policy.mesh=%s grants writes to that mesh’s routing objects only', (mesh) => {
    const { objects } = render({ values: [{ policy: { mesh } }] });
    const routeGroups = new Set([
      'networking.istio.io',
      'gateway.networking.k8s.io',
      'consul.hashicorp.com',
      'appmesh.k8s.aws',
      'gateway.solo.io',
    ]);
    const writes = grants(objects)
      .filter((g) => routeGroups.has(g.group) && g.verbs.includes('create'))
      .map((g) => `${g.group}/${g.resource}`)
      .sort();
    const expected =
      mesh === 'auto' ? ALL_ROUTE_KINDS : ROUTE_WRITES[mesh]!.map((x) => x.join('/'));
    expect(writes).toEqual([...expected].sort());
  });

  it('rbac.create=false renders no roles or bindings for the webhook', () => {
    const { objects } = render({ values: [{ rbac: { create: false } }] });
    const rbacKinds = ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
    expect(objects.filter((o) => !isHook(o) && rbacKinds.includes(o.kind))).toEqual([]);
  });

  it('serviceAccount.create=false needs a name, and then uses it', () => {
    const missing = helmTemplate({ values: [{ serviceAccount: { create: false } }] });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(
      'serviceAccount.name is required when serviceAccount.create is false',
    );
    const { objects } = render({
      values: [{ serviceAccount: { create: false, name: 'platform-webhooks' } }],
    });
    expect(objects.filter((o) => o.kind === 'ServiceAccount' && !isHook(o))).toEqual([]);
    expect(find(objects, 'Deployment').spec.template.spec.serviceAccountName).toBe(
      'platform-webhooks',
    );
    expect(find(objects, 'RoleBinding').subjects[0].name).toBe('platform-webhooks');
  });
});
