import { describe, expect, it } from 'vitest';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { NAMESPACE_ENFORCE_LABEL as ENFORCE_LABEL } from '../../src/k8s/keys.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpecInput } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { admit, workloadEngine } from '../helpers/workload-engine.js';

const TENANT = { username: 'jane@example.com', groups: ['system:authenticated', 'team-a'] };
const ADMIN = { username: 'admin', groups: ['system:authenticated', 'system:masters'] };
const ARGO_CD = {
  username: 'system:serviceaccount:argocd:argocd-application-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'],
};

function ns(name: string, labels?: Record<string, string>, annotations?: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: { 'kubernetes.io/metadata.name': name, ...labels },
      ...(annotations ? { annotations } : {}),
    },
    spec: { finalizers: ['kubernetes'] },
  };
}

/** A Namespace write as the API server sends it: no request.namespace on CREATE, the name on UPDATE. */
function nsReview(
  object: ReturnType<typeof ns>,
  oldObject: ReturnType<typeof ns> | null,
  user: { username: string; groups: string[] },
  extra: { dryRun?: boolean; subResource?: string } = {},
) {
  const review = makeReview({
    object,
    oldObject,
    namespace: oldObject ? object.metadata.name : '',
    user,
    ...(extra.dryRun ? { dryRun: true } : {}),
  });
  review.request.resource.resource = 'namespaces';
  if (extra.subResource !== undefined)
    (review.request as Record<string, unknown>).subResource = extra.subResource;
  return review;
}

async function judge(
  review: ReturnType<typeof nsReview>,
  engine = workloadEngine(),
): Promise<Awaited<ReturnType<typeof admit>>> {
  return admit(engine, review);
}

describe('namespace-enforce-label: who may touch meshwarden.io/enforce', () => {
  it.each([
    [
      'set on CREATE',
      null,
      { [ENFORCE_LABEL]: 'disabled' },
      'would be set to "disabled" (it was absent)',
    ],
    [
      'set on UPDATE',
      {},
      { [ENFORCE_LABEL]: 'disabled' },
      'would be set to "disabled" (it was absent)',
    ],
    [
      'changed',
      { [ENFORCE_LABEL]: 'enabled' },
      { [ENFORCE_LABEL]: 'disabled' },
      'would change from "enabled" to "disabled"',
    ],
    ['removed', { [ENFORCE_LABEL]: 'enabled' }, {}, 'would be removed (it was "enabled")'],
    [
      'removed (opt-out)',
      { [ENFORCE_LABEL]: 'disabled' },
      {},
      'would be removed (it was "disabled")',
    ],
  ])(
    'a tenant: %s is denied, naming the label, the values, the groups and the way on',
    async (_, before, after, change) => {
      const review = nsReview(
        ns('payments', after),
        before === null ? null : ns('payments', before),
        TENANT,
      );
      const result = await judge(review);
      expect(result.allowed).toBe(false);
      expect(result.validate.deniedBy).toBe('namespace-enforce-label');
      expect(result.message).toContain(
        `Namespace payments: the label meshwarden.io/enforce ${change}`,
      );
      expect(result.message).toContain(
        "only members of system:masters (the cluster policy's weightShift.overrideGroups)",
      );
      expect(result.message).toContain('jane@example.com is not one');
      expect(result.message).toContain('To proceed, ');
      expect(result.validate.review.response?.status?.code).toBe(403);
      expect(result.patch).toEqual([]);
    },
  );

  it('tells the tenant to keep the old value, or to leave the label out', async () => {
    const changed = await judge(
      nsReview(
        ns('payments', { [ENFORCE_LABEL]: 'disabled' }),
        ns('payments', { [ENFORCE_LABEL]: 'enabled' }),
        TENANT,
      ),
    );
    expect(changed.message).toContain(
      'To proceed, apply the Namespace with meshwarden.io/enforce: "enabled" unchanged, or ask a member of system:masters to make this change',
    );
    const created = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'disabled' }), null, TENANT),
    );
    expect(created.message).toContain(
      'To proceed, apply the Namespace without meshwarden.io/enforce',
    );
  });

  it('a user in overrideGroups may set, change and remove it, and the change is audited', async () => {
    for (const [before, after] of [
      [null, { [ENFORCE_LABEL]: 'disabled' }],
      [{}, { [ENFORCE_LABEL]: 'enabled' }],
      [{ [ENFORCE_LABEL]: 'enabled' }, { [ENFORCE_LABEL]: 'disabled' }],
      [{ [ENFORCE_LABEL]: 'disabled' }, {}],
    ] as const) {
      const result = await judge(
        nsReview(ns('payments', after), before === null ? null : ns('payments', before), ADMIN),
      );
      expect(result.allowed, JSON.stringify([before, after])).toBe(true);
      expect(result.auditAnnotations['namespace-enforce-label']).toMatch(
        /^Namespace payments: meshwarden\.io\/enforce would .* by admin \(group system:masters\)$/,
      );
    }
  });

  it('follows overrideGroups as the cluster policy sets them', async () => {
    const engine = workloadEngine({ weightShift: { overrideGroups: ['platform-admins'] } });
    const review = (groups: string[]) =>
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'disabled' }), ns('payments'), {
        username: 'u',
        groups,
      });
    expect((await judge(review(['platform-admins']), engine)).allowed).toBe(true);
    const denied = await judge(review(['system:masters']), engine);
    expect(denied.allowed).toBe(false);
    expect(denied.message).toContain('only members of platform-admins');
  });

  it('with no overrideGroups nobody may change it, and the message says how to allow someone', async () => {
    const engine = workloadEngine({ weightShift: { overrideGroups: [] } });
    const result = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'disabled' }), ns('payments'), ADMIN),
      engine,
    );
    expect(result.allowed).toBe(false);
    expect(result.message).toContain(
      "nobody may set, change or remove it: the cluster policy's weightShift.overrideGroups is empty",
    );
    expect(result.message).toContain(
      'or add a group to weightShift.overrideGroups in the cluster policy',
    );
  });

  it('allows namespaces created without the label, and edits of other labels and annotations', async () => {
    expect((await judge(nsReview(ns('payments', { team: 'a' }), null, TENANT))).allowed).toBe(true);
    const states: Record<string, string>[] = [
      {},
      { [ENFORCE_LABEL]: 'disabled' },
      { [ENFORCE_LABEL]: 'enabled' },
    ];
    for (const labels of states) {
      const before = ns('payments', { ...labels, team: 'a' });
      const after = ns('payments', { ...labels, team: 'b', cost: 'x' }, { note: 'y' });
      const result = await judge(nsReview(after, before, TENANT));
      expect(result.allowed, JSON.stringify(labels)).toBe(true);
      expect(result.auditAnnotations).toEqual({});
    }
  });

  it('allows a GitOps re-apply that leaves the label as it is', async () => {
    const labelled = ns('payments', { [ENFORCE_LABEL]: 'disabled' });
    const result = await judge(nsReview(labelled, structuredClone(labelled), ARGO_CD));
    expect(result.allowed).toBe(true);
    // Changing it from the GitOps tool needs its group in overrideGroups, like anyone else.
    const changed = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'enabled' }), labelled, ARGO_CD),
    );
    expect(changed.allowed).toBe(false);
  });

  it('gives a dry run the same decision', async () => {
    for (const user of [TENANT, ADMIN]) {
      const args = [ns('payments', { [ENFORCE_LABEL]: 'disabled' }), ns('payments'), user] as const;
      const wet = await judge(nsReview(...args));
      const dry = await judge(nsReview(...args, { dryRun: true }));
      expect(dry.allowed).toBe(wet.allowed);
      expect(dry.message).toBe(wet.message);
    }
  });
});

describe('namespace-enforce-label, as a tenant would try to get around it', () => {
  it('removing the label from a namespace that is opted out (and so excluded) is still judged', async () => {
    const engine = workloadEngine(
      {},
      { namespaceLabels: { payments: { [ENFORCE_LABEL]: 'disabled' } } },
    );
    const result = await judge(
      nsReview(ns('payments'), ns('payments', { [ENFORCE_LABEL]: 'disabled' }), TENANT),
      engine,
    );
    expect(result.allowed).toBe(false);
    // The same engine leaves workloads in that namespace alone: the exclusion itself still holds.
    const workload = await admit(
      engine,
      makeReview({ object: deployment('web', { app: 'web' }, { namespace: 'payments' }) }),
    );
    expect(workload.allowed).toBe(true);
  });

  it('a namespace in excludedNamespaces is guarded too', async () => {
    const result = await judge(
      nsReview(ns('kube-public', { [ENFORCE_LABEL]: 'disabled' }), ns('kube-public'), TENANT),
    );
    expect(result.allowed).toBe(false);
  });

  it('another casing of the value is still the guarded key: denied', async () => {
    const result = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'Disabled' }), ns('payments'), TENANT),
    );
    expect(result.allowed).toBe(false);
    expect(result.message).toContain('would be set to "Disabled"');
  });

  it('another casing of the key is a different label that opts nothing out: allowed, and ignored', async () => {
    const key = 'meshwarden.io/Enforce';
    const result = await judge(
      nsReview(ns('payments', { [key]: 'disabled' }), ns('payments'), TENANT),
    );
    expect(result.allowed).toBe(true);
    // A workload in a namespace carrying it is still reviewed (and denied for its missing version label).
    // The namespace takes part in the mesh, so the workload rules enforce there.
    const engine = workloadEngine(
      {},
      { namespaceLabels: { payments: { [key]: 'disabled', 'istio-injection': 'enabled' } } },
    );
    const workload = await admit(
      engine,
      makeReview({ object: deployment('web', { app: 'web' }, { namespace: 'payments' }) }),
    );
    expect(workload.allowed).toBe(false);
    expect(workload.validate.deniedBy).toBe('version-labels');
  });

  it('an annotation of the same name is not guarded because nothing reads it', async () => {
    const result = await judge(
      nsReview(ns('payments', {}, { [ENFORCE_LABEL]: 'disabled' }), ns('payments'), TENANT),
    );
    expect(result.allowed).toBe(true);
  });

  it('delete and recreate: the DELETE passes, the recreated namespace may not carry the label', async () => {
    const labelled = ns('payments', { [ENFORCE_LABEL]: 'enabled' });
    const del = makeReview({
      object: null,
      oldObject: labelled,
      operation: 'DELETE',
      namespace: 'payments',
      user: TENANT,
    });
    const decoded = decodeAdmissionReview(del);
    if (!decoded.ok) throw new Error(decoded.message);
    expect((await workloadEngine().review(decoded.review, 'validate')).decision).toBe('allowed');
    const recreated = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'disabled' }), null, TENANT),
    );
    expect(recreated.allowed).toBe(false);
    expect((await judge(nsReview(ns('payments'), null, TENANT))).allowed).toBe(true);
  });

  it.each(['status', 'finalize'])(
    'a label change through the %s subresource is judged the same',
    async (subResource) => {
      const review = nsReview(
        ns('payments'),
        ns('payments', { [ENFORCE_LABEL]: 'disabled' }),
        TENANT,
        { subResource },
      );
      const result = await judge(review);
      expect(result.allowed).toBe(false);
      expect(result.validate.deniedBy).toBe('namespace-enforce-label');
    },
  );

  it('a namespace ConfigMap that drops the administrators from overrideGroups does not lock them out', async () => {
    const policy = new PolicyStore(resolveSpec({}));
    const override: PolicySpecInput = { weightShift: { overrideGroups: [] } };
    policy.setNamespaceOverride('payments', override);
    const engine = new AdmissionEngine({
      rules: defaultRules(),
      policy,
      cluster: staticClusterView(),
    });
    const result = await judge(
      nsReview(ns('payments'), ns('payments', { [ENFORCE_LABEL]: 'disabled' }), ADMIN),
      engine,
    );
    expect(result.allowed).toBe(true);
  });

  it('keeps the message bounded whatever value, name or user is sent', async () => {
    const long = 'y'.repeat(100_000);
    const review = nsReview(ns(long, { [ENFORCE_LABEL]: 'disabled' }), null, {
      username: long,
      groups: [],
    });
    const named = await judge(review);
    expect(named.allowed).toBe(false);
    expect(named.message!.length).toBeLessThan(700);
  });

  it('keeps the message bounded whatever value is sent', async () => {
    const result = await judge(
      nsReview(ns('payments', { [ENFORCE_LABEL]: 'x'.repeat(100_000) }), ns('payments'), TENANT),
    );
    expect(result.allowed).toBe(false);
    expect(result.message!.length).toBeLessThan(700);
  });
});
