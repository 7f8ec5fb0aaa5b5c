import { beforeAll, describe, expect, it } from 'vitest';
import {
  find,
  fullnameOf,
  HELM_DEFAULT_KUBE_VERSION,
  helmTemplate,
  KUBE_VERSION,
  PROFILES,
  render,
  renderNotes,
  requireHelm,
  type KubeObject,
  type RenderOptions,
} from './helm.js';

beforeAll(() => {
  requireHelm();
});

/** CONTRACT §3: the kinds both webhooks review, with every version the contract names. */
const CONTRACT_RULES = [
  { group: 'apps', versions: ['v1'], resources: ['daemonsets', 'deployments', 'statefulsets'] },
  { group: 'argoproj.io', versions: ['v1alpha1'], resources: ['rollouts'] },
  {
    group: 'split.smi-spec.io',
    versions: ['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'],
    resources: ['trafficsplits'],
  },
  {
    group: 'networking.istio.io',
    versions: ['v1', 'v1alpha3', 'v1beta1'],
    resources: ['virtualservices'],
  },
  { group: 'gateway.solo.io', versions: ['v1'], resources: ['routetables', 'virtualservices'] },
  { group: 'gateway.networking.k8s.io', versions: ['v1', 'v1beta1'], resources: ['httproutes'] },
  { group: 'appmesh.k8s.aws', versions: ['v1beta2'], resources: ['virtualrouters'] },
  { group: 'consul.hashicorp.com', versions: ['v1alpha1'], resources: ['servicesplitters'] },
  // The weighted kinds the guard reads beyond CONTRACT §3 (issue 12).
  { group: 'gateway.networking.k8s.io', versions: ['v1'], resources: ['grpcroutes'] },
  {
    group: 'gateway.networking.k8s.io',
    versions: ['v1alpha2'],
    resources: ['tcproutes', 'tlsroutes', 'udproutes'],
  },
  {
    group: 'policy.linkerd.io',
    versions: ['v1beta1', 'v1beta2', 'v1beta3'],
    resources: ['httproutes'],
  },
  { group: 'serving.knative.dev', versions: ['v1'], resources: ['routes', 'services'] },
  // Flagger Canaries and Argo Rollouts: their steps are held to the policy.
  { group: 'flagger.app', versions: ['v1beta1'], resources: ['canaries'] },
  { group: 'argoproj.io', versions: ['v1alpha1'], resources: ['rollouts'] },
];

interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope: string;
}

/** (group, version, resource) triples a rule list matches, sorted: order in the YAML is free. */
function triples(rules: Rule[]): string[] {
  return rules
    .flatMap((r) =>
      r.apiGroups.flatMap((g) =>
        r.apiVersions.flatMap((v) => r.resources.map((res) => `${g}/${v}/${res}`)),
      ),
    )
    .sort();
}

const CONTRACT_TRIPLES = triples(
  CONTRACT_RULES.map((r) => ({
    apiGroups: [r.group],
    apiVersions: r.versions,
    resources: r.resources,
    operations: [],
    scope: '',
  })),
);

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics, enough to ask which namespaces a webhook sees. */
function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !e.values!.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && e.values!.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown operator ${e.operator}`);
    }
  }
  return true;
}

/** Labels a namespace carries: the API server always sets kubernetes.io/metadata.name. */
const ns = (name: string, labels: Record<string, string> = {}) => ({
  'kubernetes.io/metadata.name': name,
  ...labels,
});

function configs(options: RenderOptions = {}) {
  const { objects } = render(options);
  return {
    objects,
    mutating: find(objects, 'MutatingWebhookConfiguration'),
    validating: find(objects, 'ValidatingWebhookConfiguration'),
  };
}

function webhook(config: KubeObject, name: string) {
  const found = config.webhooks.filter((w: { name: string }) => w.name === name);
  expect(found).toHaveLength(1);
  return found[0];
}

describe.each(PROFILES)('webhook configurations, profile $name', ({ options }) => {
  const release = fullnameOf(options);
  const namespace = options.namespace ?? 'meshwarden-system';

  it('the mutating configuration has one webhook, the validating three', () => {
    const { mutating, validating } = configs(options);
    expect(mutating.webhooks.map((w: { name: string }) => w.name)).toEqual([
      'mutate.meshwarden.io',
    ]);
    expect(validating.webhooks.map((w: { name: string }) => w.name)).toEqual([
      'validate.meshwarden.io',
      'policy.meshwarden.io',
      'namespace-label.meshwarden.io',
    ]);
  });

  it('workload webhooks match exactly the kinds of CONTRACT §3, CREATE and UPDATE, namespaced', () => {
    const { mutating, validating } = configs(options);
    for (const w of [
      webhook(mutating, 'mutate.meshwarden.io'),
      webhook(validating, 'validate.meshwarden.io'),
    ]) {
      expect(triples(w.rules)).toEqual(CONTRACT_TRIPLES);
      for (const rule of w.rules as Rule[]) {
        expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
        expect(rule.scope).toBe('Namespaced');
      }
    }
  });

  it('no rule uses a wildcard or a subresource, but the namespace label entry its two by name', () => {
    const { mutating, validating } = configs(options);
    for (const w of [...mutating.webhooks, ...validating.webhooks]) {
      for (const rule of w.rules as Rule[]) {
        for (const v of [
          ...rule.apiGroups,
          ...rule.apiVersions,
          ...rule.resources,
          ...rule.operations,
        ]) {
          expect(v).not.toContain('*');
          if (w.name === 'namespace-label.meshwarden.io' && rule.resources.includes(v))
            expect(['namespaces', 'namespaces/status', 'namespaces/finalize']).toContain(v);
          else expect(v).not.toContain('/');
        }
      }
    }
  });

  it('every webhook: v1 and v1beta1 reviews, NoneOnDryRun, Equivalent matching, the Service', () => {
    const { mutating, validating, objects } = configs(options);
    const service = find(objects, 'Service');
    for (const w of [...mutating.webhooks, ...validating.webhooks]) {
      expect(w.admissionReviewVersions).toEqual(['v1', 'v1beta1']);
      expect(w.sideEffects).toBe('NoneOnDryRun');
      expect(w.matchPolicy).toBe('Equivalent');
      expect(w.clientConfig.service).toEqual({
        name: service.metadata.name,
        namespace,
        path: w.name === 'mutate.meshwarden.io' ? '/mutate' : '/validate',
        port: service.spec.ports[0].port,
      });
      expect(w.clientConfig.url).toBeUndefined();
    }
    expect(mutating.metadata.name).toBe(release);
    expect(validating.metadata.name).toBe(release);
  });

  it('the mutating webhook is reinvoked if needed; the validating ones have no such field', () => {
    const { mutating, validating } = configs(options);
    expect(webhook(mutating, 'mutate.meshwarden.io').reinvocationPolicy).toBe('IfNeeded');
    for (const w of validating.webhooks) expect(w.reinvocationPolicy).toBeUndefined();
  });

  it('workload webhooks skip kube-system, kube-node-lease, the release namespace and opted-out namespaces', () => {
    const { mutating, validating } = configs(options);
    for (const w of [
      webhook(mutating, 'mutate.meshwarden.io'),
      webhook(validating, 'validate.meshwarden.io'),
    ]) {
      const sees = (labels: Record<string, string>) => selects(w.namespaceSelector, labels);
      expect(sees(ns('kube-system'))).toBe(false);
      expect(sees(ns('kube-node-lease'))).toBe(false);
      expect(sees(ns(namespace))).toBe(false);
      expect(sees(ns('payments', { 'meshwarden.io/enforce': 'disabled' }))).toBe(false);
      expect(sees(ns('payments'))).toBe(true);
      expect(sees(ns('payments', { 'meshwarden.io/enforce': 'enabled' }))).toBe(true);
      expect(sees(ns('default'))).toBe(true);
      expect(w.objectSelector).toBeUndefined();
    }
  });

  it('the policy ConfigMap webhook sees only meshwarden-policy ConfigMaps, in every namespace', () => {
    const { validating, mutating } = configs(options);
    const w = webhook(validating, 'policy.meshwarden.io');
    expect(w.rules).toEqual([
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['configmaps'],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Namespaced',
      },
    ]);
    expect(w.matchConditions).toEqual([
      {
        name: 'meshwarden-policy-only',
        expression: 'has(object.metadata.name) && object.metadata.name == "meshwarden-policy"',
      },
    ]);
    for (const name of [namespace, 'kube-system', 'payments']) {
      expect(selects(w.namespaceSelector, ns(name, { 'meshwarden.io/enforce': 'disabled' }))).toBe(
        true,
      );
    }
    expect(triples(webhook(mutating, 'mutate.meshwarden.io').rules)).not.toContain(
      '/v1/configmaps',
    );
  });
});

describe.each(PROFILES)('namespace label webhook, profile $name', ({ options }) => {
  const namespace = options.namespace ?? 'meshwarden-system';
  const entry = () => webhook(configs(options).validating, 'namespace-label.meshwarden.io');

  it('sees Namespace CREATE and UPDATE, with the status and finalize subresources, nothing else', () => {
    expect(entry().rules).toEqual([
      {
        apiGroups: [''],
        apiVersions: ['v1'],
        resources: ['namespaces', 'namespaces/status', 'namespaces/finalize'],
        operations: ['CREATE', 'UPDATE'],
        scope: 'Cluster',
      },
    ]);
  });

  it('is sent only writes that change meshwarden.io/enforce (absent counts as a value)', () => {
    expect(entry().matchConditions).toEqual([
      {
        name: 'enforce-label-changed',
        expression:
          "(has(object.metadata.labels) && 'meshwarden.io/enforce' in object.metadata.labels " +
          "? object.metadata.labels['meshwarden.io/enforce'] : '<absent>') " +
          '!= (oldObject != null && has(oldObject.metadata.labels) ' +
          "&& 'meshwarden.io/enforce' in oldObject.metadata.labels " +
          "? oldObject.metadata.labels['meshwarden.io/enforce'] : '<absent>')",
      },
    ]);
  });

  it('selects namespaces by name only, so the guarded label cannot take a namespace out of it', () => {
    const w = entry();
    const keys = (w.namespaceSelector.matchExpressions as { key: string }[]).map((e) => e.key);
    expect(keys).toEqual(['kubernetes.io/metadata.name']);
    expect(w.namespaceSelector.matchLabels).toBeUndefined();
    expect(w.objectSelector).toBeUndefined();
    for (const value of ['disabled', 'enabled', 'Disabled']) {
      expect(selects(w.namespaceSelector, ns('payments', { 'meshwarden.io/enforce': value }))).toBe(
        true,
      );
    }
    // Where the label means nothing, namespace writes never wait on meshwarden.
    for (const name of ['kube-system', 'kube-node-lease', namespace])
      expect(selects(w.namespaceSelector, ns(name)), name).toBe(false);
  });

  it('answers from /validate with the validating failure policy and timeout', () => {
    const { validating } = configs(options);
    const main = webhook(validating, 'validate.meshwarden.io');
    const w = entry();
    expect(w.clientConfig).toEqual(main.clientConfig);
    expect(w.failurePolicy).toBe(main.failurePolicy);
    expect(w.timeoutSeconds).toBe(main.timeoutSeconds);
  });
});

describe('webhook settings from values', () => {
  it('defaults: mutating Ignore, validating Fail, 5 s timeouts', () => {
    const { mutating, validating } = configs();
    expect(webhook(mutating, 'mutate.meshwarden.io')).toMatchObject({
      failurePolicy: 'Ignore',
      timeoutSeconds: 5,
    });
    for (const w of validating.webhooks)
      expect(w).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 5 });
  });

  it.each([
    ['ci/fail-open-values.yaml', 'Ignore', 5, 'Ignore', 3],
    ['ci/fail-closed-values.yaml', 'Fail', 10, 'Fail', 10],
  ])('%s: mutating %s/%is, validating %s/%is', (file, mPolicy, mTimeout, vPolicy, vTimeout) => {
    const { mutating, validating } = configs({ valuesFiles: [file] });
    expect(webhook(mutating, 'mutate.meshwarden.io')).toMatchObject({
      failurePolicy: mPolicy,
      timeoutSeconds: mTimeout,
    });
    for (const w of validating.webhooks) {
      expect(w).toMatchObject({ failurePolicy: vPolicy, timeoutSeconds: vTimeout });
    }
  });

  it('policy.excludedNamespaces and webhooks.excludeNamespaces are left out too', () => {
    const { mutating, validating } = configs({
      values: [
        {
          policy: { excludedNamespaces: ['legacy'] },
          webhooks: { excludeNamespaces: ['batch-jobs'] },
        },
      ],
    });
    for (const w of [
      webhook(mutating, 'mutate.meshwarden.io'),
      webhook(validating, 'validate.meshwarden.io'),
    ]) {
      for (const name of [
        'legacy',
        'batch-jobs',
        'kube-system',
        'kube-node-lease',
        'meshwarden-system',
      ]) {
        expect(selects(w.namespaceSelector, ns(name)), name).toBe(false);
      }
      expect(selects(w.namespaceSelector, ns('kube-public'))).toBe(true);
    }
  });
});

describe('the policy webhook before and after Kubernetes 1.28', () => {
  const policyWebhook = (options: RenderOptions) =>
    webhook(configs(options).validating, 'policy.meshwarden.io');
  const byName = [
    {
      name: 'meshwarden-policy-only',
      expression: 'has(object.metadata.name) && object.metadata.name == "meshwarden-policy"',
    },
  ];
  const byLabel = { matchLabels: { 'meshwarden.io/policy': 'true' } };

  it.each(['1.28.0', '1.30.0', 'v1.28.3-eks-1234'])(
    'on %s it selects meshwarden-policy by name with matchConditions',
    (kubeVersion) => {
      const w = policyWebhook({ kubeVersion });
      expect(w.matchConditions).toEqual(byName);
      expect(w.objectSelector).toBeUndefined();
    },
  );

  it.each(['1.25.0', '1.27.0', '1.27.16'])(
    'on %s (no matchConditions by default) it selects by the label instead',
    (kubeVersion) => {
      const w = policyWebhook({ kubeVersion });
      expect(w.objectSelector).toEqual(byLabel);
      expect(w.matchConditions).toBeUndefined();
    },
  );

  it('without --kube-version helm renders for its default, v1.25.0: the label fallback, byte for byte', () => {
    const noFlag = helmTemplate({ kubeVersion: null });
    expect(noFlag.code).toBe(0);
    expect(noFlag.stdout).toBe(render({ kubeVersion: '1.27.0' }).text);
    expect(policyWebhook({ kubeVersion: null }).objectSelector).toEqual(byLabel);
    expect(renderNotes({ kubeVersion: null })).toContain(
      `Kubernetes ${HELM_DEFAULT_KUBE_VERSION} has no webhook matchConditions`,
    );
  });

  // Against the default KUBE_VERSION, which the other tests of this file have rendered already.
  it.each(PROFILES)(
    `profile $name: 1.27 and ${KUBE_VERSION} differ in exactly that field of that webhook`,
    ({ options }) => {
      const old = render({ ...options, kubeVersion: '1.27.0' }).objects;
      const current = render(options).objects;
      const strip = (objects: KubeObject[], field: 'objectSelector' | 'matchConditions') =>
        objects.map((o) => {
          if (o.kind !== 'ValidatingWebhookConfiguration') return o;
          const w = o.webhooks.find((x: { name: string }) => x.name === 'policy.meshwarden.io');
          expect(w[field]).toBeDefined();
          delete w[field];
          return o;
        });
      expect(strip(old, 'objectSelector')).toEqual(strip(current, 'matchConditions'));
      // So the chart's own policy ConfigMap is the same object on both, and the fallback sees it.
      const cm = find(old, 'ConfigMap', 'meshwarden-policy');
      expect(selects(byLabel, cm.metadata.labels ?? {})).toBe(true);
    },
  );

  it('under the fallback a tenant ConfigMap without the label is not sent; relabelling one is', () => {
    const w = policyWebhook({ kubeVersion: '1.27.0' });
    expect(selects(w.objectSelector, {})).toBe(false);
    expect(selects(w.objectSelector, { 'meshwarden.io/policy': 'false' })).toBe(false);
    expect(selects(w.objectSelector, { 'meshwarden.io/policy': 'true', team: 'payments' })).toBe(
      true,
    );
    // Namespaces cannot opt out of it, as with matchConditions.
    expect(w.namespaceSelector).toEqual({});
  });

  it('NOTES.txt tells how to label namespace ConfigMaps only under the fallback', () => {
    const old = renderNotes({ kubeVersion: '1.27.0' });
    expect(old).toContain('Kubernetes v1.27.0 has no webhook matchConditions');
    expect(old).toContain(
      'kubectl -n <namespace> label configmap meshwarden-policy meshwarden.io/policy=true',
    );
    expect(renderNotes({ kubeVersion: '1.30.0' })).not.toContain('meshwarden.io/policy');
  });
});
