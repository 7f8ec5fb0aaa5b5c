import { describe, expect, it } from 'vitest';
import { policyConfigMapRule } from '../../src/rules/policy-configmap-validity.js';
import {
  MAX_POLICY_BYTES,
  parsePolicyOrConfigMap,
  parsePolicyText,
  policyFromConfigMapData,
} from '../../src/policy/load.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { PolicyStore } from '../../src/policy/store.js';

/** A "billion laughs" document: nine levels of nine aliases each. */
export function aliasBomb(levels = 9): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++) {
    const p = `*a${i - 1}`;
    lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => p).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('hostile policies', () => {
  it('reports a YAML alias bomb as one, not as a crash', () => {
    const result = parsePolicyText(aliasBomb());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]?.message).toContain(
      'YAML alias expansion limit exceeded',
    );
    const inConfigMap = parsePolicyOrConfigMap(
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: &a [1,1,1,1,1,1,1,1,1,1], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}\n`,
    );
    expect(!inConfigMap.ok && inConfigMap.errors[0]?.message).toContain('alias');
  });

  it('refuses a policy over the size limit before parsing, with the limit in the message', () => {
    const text = `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec: {}\n# ${'x'.repeat(MAX_POLICY_BYTES)}\n`;
    const result = policyFromConfigMapData(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]?.message).toContain(`at most ${MAX_POLICY_BYTES} bytes`);
  });

  it('denies a policy ConfigMap holding an alias bomb at admission, naming it', async () => {
    const engine = new AdmissionEngine({
      rules: { mutators: [], validators: [policyConfigMapRule] },
      policy: new PolicyStore(),
    });
    const review = (data: string) => {
      const decoded = decodeAdmissionReview({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'u-1',
          kind: { group: '', version: 'v1', kind: 'ConfigMap' },
          operation: 'CREATE',
          namespace: 'team-a',
          userInfo: { username: 'tenant' },
          object: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'meshwarden-policy', namespace: 'team-a' },
            data: { 'policy.yaml': data },
          },
        },
      });
      if (!decoded.ok) throw new Error(decoded.message);
      return engine.review(decoded.review, 'validate');
    };
    const bomb = await review(aliasBomb());
    expect(bomb.review.response?.allowed).toBe(false);
    expect(bomb.review.response?.status?.message).toContain('YAML alias expansion limit exceeded');
    expect(bomb.review.response?.status?.message).not.toContain('internal error');

    const big = await review(`spec: {}\n# ${'y'.repeat(1024 * 1024)}\n`);
    expect(big.review.response?.allowed).toBe(false);
    expect(big.review.response?.status?.message).toContain(`at most ${MAX_POLICY_BYTES} bytes`);
  });
});
