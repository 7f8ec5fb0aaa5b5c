import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SPEC, DEFAULT_TRUSTED_CONTROLLERS } from '../../src/policy/defaults.js';
import { parsePolicyText } from '../../src/policy/load.js';
import { looseningErrors, tightest } from '../../src/policy/merge.js';

const doc = (body: string) =>
  `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    trustedControllers:\n${body}`;

describe('weightShift.trustedControllers', () => {
  it("defaults to Flagger's documented installs and Argo Rollouts' manifest", () => {
    const accounts = DEFAULT_POLICY_SPEC.weightShift.trustedControllers.map(
      (c) => `${c.kind} ${c.serviceAccount}`,
    );
    for (const ns of [
      'istio-system',
      'flagger-system',
      'linkerd',
      'appmesh-system',
      'gloo-system',
      'kuma-system',
      'osm-system',
      'ingress-nginx',
      'projectcontour',
    ])
      expect(accounts).toContain(`flagger ${ns}/flagger`);
    expect(accounts).toContain('argo-rollouts argo-rollouts/argo-rollouts');
    expect(DEFAULT_TRUSTED_CONTROLLERS.every((c) => c.serviceAccount.split('/').length === 2)).toBe(
      true,
    );
  });

  it('reads a list and replaces the default', () => {
    const result = parsePolicyText(
      doc('      - {kind: flagger, serviceAccount: delivery/flagger}\n'),
    );
    expect(result.ok && result.policy.spec.weightShift.trustedControllers).toEqual([
      { kind: 'flagger', serviceAccount: 'delivery/flagger' },
    ]);
  });

  const bad: [string, string, string][] = [
    [
      'an unknown key',
      '      - {kind: flagger, serviceAccount: a/flagger, namespace: a}\n',
      'spec.weightShift.trustedControllers.0.namespace: unknown key "namespace" (allowed: kind, serviceAccount)',
    ],
    [
      'an unknown kind',
      '      - {kind: spinnaker, serviceAccount: a/b}\n',
      'spec.weightShift.trustedControllers.0.kind: must be one of flagger, argo-rollouts; got "spinnaker"',
    ],
    [
      'a name without namespace',
      '      - {kind: flagger, serviceAccount: flagger}\n',
      'spec.weightShift.trustedControllers.0.serviceAccount: must be namespace/name of a ServiceAccount, e.g. istio-system/flagger; got "flagger"',
    ],
    ['a missing account', '      - {kind: flagger}\n', 'missing required key "serviceAccount"'],
  ];
  it.each(bad)('refuses %s, with the key and line', (_n, body, message) => {
    const result = parsePolicyText(doc(body));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.errors.map((e) => `${e.key}: ${e.message}`).join('\n');
    expect(text).toContain(message.replace(/^[^:]*: /, ''));
    expect(result.errors[0]?.line).toBe(6);
  });

  it('a namespace may remove trusted controllers, never add one', () => {
    const cluster = DEFAULT_POLICY_SPEC;
    const add = {
      weightShift: {
        trustedControllers: [{ kind: 'flagger' as const, serviceAccount: 'team-a/flagger' }],
      },
    };
    expect(looseningErrors(cluster, add).map((e) => e.key)).toEqual([
      'spec.weightShift.trustedControllers',
    ]);
    expect(tightest(cluster, add).weightShift.trustedControllers).toEqual([]);
    const keep = {
      weightShift: {
        trustedControllers: [
          { kind: 'argo-rollouts' as const, serviceAccount: 'argo-rollouts/argo-rollouts' },
        ],
      },
    };
    expect(looseningErrors(cluster, keep)).toEqual([]);
    expect(tightest(cluster, keep).weightShift.trustedControllers).toEqual(
      keep.weightShift.trustedControllers,
    );
    // Same account under another kind is not the same entry.
    const retyped = {
      weightShift: {
        trustedControllers: [
          { kind: 'flagger' as const, serviceAccount: 'argo-rollouts/argo-rollouts' },
        ],
      },
    };
    expect(looseningErrors(cluster, retyped)).toHaveLength(1);
  });
});
