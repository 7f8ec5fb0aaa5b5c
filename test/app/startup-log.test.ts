import { describe, expect, it } from 'vitest';
import { meshStatement, policyStatement } from '../../src/app/startup-log.js';
import { DEFAULT_POLICY_SPEC } from '../../src/policy/defaults.js';

describe('meshStatement', () => {
  it('names the mesh and why: the policy, the fallback, or detection in a cluster', () => {
    expect(meshStatement({ ...DEFAULT_POLICY_SPEC, mesh: 'linkerd' }, false)).toMatchObject({
      mesh: 'linkerd',
      basis: 'policy',
      message: expect.stringMatching(/^mesh: linkerd, from the policy \(spec\.mesh\)/),
    });
    expect(meshStatement({ ...DEFAULT_POLICY_SPEC, fallbackMesh: 'kuma' }, false)).toMatchObject({
      mesh: 'kuma',
      basis: 'fallback',
      message: expect.stringMatching(
        /^mesh: kuma, the policy's fallbackMesh \(spec\.mesh is auto and there is no cluster/,
      ),
    });
    expect(meshStatement(DEFAULT_POLICY_SPEC, true)).toMatchObject({
      mesh: 'auto',
      basis: 'detection',
      message: expect.stringMatching(/^mesh: detected in the cluster .* fallbackMesh istio/),
    });
    expect(meshStatement(DEFAULT_POLICY_SPEC, false).message).toMatch(
      /a namespace label meshwarden\.io\/mesh overrides it per namespace$/,
    );
  });
});

describe('policyStatement', () => {
  it('says which file (or the defaults), why, and that the ConfigMap overrides it in a cluster', () => {
    expect(
      policyStatement({ file: 'policies/default.yaml', why: 'the default file' }, false, 'ns'),
    ).toBe('policy: policies/default.yaml (the default file)');
    expect(policyStatement({ why: 'no --policy' }, true, 'meshwarden-system')).toBe(
      'policy: the built-in defaults (no --policy); the ConfigMap meshwarden-policy in meshwarden-system overrides it once listed',
    );
  });
});
