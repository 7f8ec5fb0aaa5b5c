import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';
import {
  formatPolicyErrors,
  parsePolicyOrConfigMap,
  parsePolicyText,
} from '../../src/policy/load.js';

describe('parsePolicyText', () => {
  it('reads policies/default.yaml as exactly the embedded defaults', () => {
    const result = parsePolicyText(readFileSync('policies/default.yaml', 'utf8'));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.policy.spec).toEqual(DEFAULT_POLICY_SPEC);
  });

  it('fills every default when the spec is empty, with rule enforcement inheriting the spec-level one', () => {
    const result = parsePolicyText(
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  enforcement: warn\n',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.spec.versionLabels.enforcement).toBe('warn');
    expect(result.policy.spec.weightShift.enforcement).toBe('warn');
    expect(result.policy.spec.weightShift.maxStepWeight).toBe(20);
    expect(result.policy.spec.excludedNamespaces).toEqual([
      'kube-system',
      'kube-public',
      'kube-node-lease',
    ]);
  });

  it('names an unknown key, the keys allowed there, and its line', () => {
    const text = [
      'apiVersion: meshwarden.io/v1alpha1',
      'kind: MeshPolicy',
      'spec:',
      '  weightShift:',
      '    maxStepWeigth: 30',
    ].join('\n');
    const result = parsePolicyText(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ key: 'spec.weightShift.maxStepWeigth', line: 5 });
    expect(result.errors[0]?.message).toContain('unknown key "maxStepWeigth"');
    expect(result.errors[0]?.message).toContain('maxStepWeight');
  });

  it('reads maxTotalStepWeight, and names a total of 0 with its line', () => {
    const text = (total: number) =>
      `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxTotalStepWeight: ${total}\n`;
    const good = parsePolicyText(text(40));
    expect(good.ok && good.policy.spec.weightShift.maxTotalStepWeight).toBe(40);
    const bad = parsePolicyText(text(0));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors[0]).toMatchObject({ key: 'spec.weightShift.maxTotalStepWeight', line: 5 });
  });

  it('names a bad value with the allowed values and what was given', () => {
    const result = parsePolicyText(
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: istoi\n  enforcement: strict\n',
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byKey = Object.fromEntries(result.errors.map((e) => [e.key, e]));
    expect(byKey['spec.mesh']?.message).toMatch(/must be one of auto, istio, .*got "istoi"/);
    expect(byKey['spec.mesh']?.line).toBe(4);
    expect(byKey['spec.enforcement']?.message).toMatch(/audit, warn, enforce; got "strict"/);
  });

  it('refuses out-of-range numbers with the limit', () => {
    const result = parsePolicyText(
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  weightShift:\n    maxStepWeight: 150\n',
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(formatPolicyErrors(result.errors, 'p.yaml')).toBe(
        'p.yaml:line 5: spec.weightShift.maxStepWeight: must be at most 100; got 150',
      );
  });

  it('refuses a wrong apiVersion or kind', () => {
    const result = parsePolicyText('apiVersion: v1\nkind: Policy\n');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.key).sort()).toEqual(['apiVersion', 'kind']);
  });

  it('reports YAML syntax errors with their line', () => {
    const result = parsePolicyText(
      'apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: [istio\n',
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors[0]?.message).toMatch(/^not valid YAML/);
      expect(result.errors[0]?.line).toBeGreaterThanOrEqual(4);
    }
  });

  it('refuses a document that is not a mapping', () => {
    const result = parsePolicyText('- a\n- b\n');
    expect(result.ok).toBe(false);
  });
});

describe('parsePolicyOrConfigMap', () => {
  const configMap = (inner: string) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: meshwarden-policy',
      'data:',
      '  policy.yaml: |',
      ...inner.split('\n').map((l) => `    ${l}`),
    ].join('\n');

  it('reads the policy inside a ConfigMap', () => {
    const result = parsePolicyOrConfigMap(
      configMap('apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: linkerd'),
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.policy.spec.mesh).toBe('linkerd');
  });

  it('locates an error inside the ConfigMap on the manifest line', () => {
    const result = parsePolicyOrConfigMap(
      configMap('apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  mesh: nope'),
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]?.key).toBe('data.policy.yaml: spec.mesh');
    // line 6 holds `policy.yaml: |`; the inner document's line 4 is manifest line 10.
    expect(result.errors[0]?.line).toBe(10);
  });

  it('says so when the ConfigMap has no policy.yaml key', () => {
    const result = parsePolicyOrConfigMap(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  other: y\n',
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toContain('"policy.yaml"');
  });
});
