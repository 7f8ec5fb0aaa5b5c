import { describe, expect, it } from 'vitest';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { resolveSpec } from '../../src/policy/defaults.js';
import { PolicyStore } from '../../src/policy/store.js';
import { defaultRules } from '../../src/rules/index.js';
import { contractProblems } from '../helpers/contract.js';
import { makeReview } from '../helpers/reviews.js';

function split(version: string, backends: unknown[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: `split.smi-spec.io/${version}`,
    kind: 'TrafficSplit',
    metadata: { name: 'reviews-rollout', namespace: 'shop' },
    spec: { service: 'reviews', backends, ...extra },
  };
}

async function validate(
  object: Record<string, unknown>,
  options: { operation?: 'CREATE' | 'UPDATE' | 'DELETE'; policy?: PolicyStore } = {},
) {
  const engine = new AdmissionEngine({
    rules: defaultRules(),
    policy: options.policy ?? new PolicyStore(),
  });
  const review = makeReview({
    object: options.operation === 'DELETE' ? null : object,
    ...(options.operation === 'UPDATE' || options.operation === 'DELETE'
      ? { oldObject: object }
      : {}),
    ...(options.operation ? { operation: options.operation } : {}),
  });
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.message);
  const outcome = await engine.review(decoded.review, 'validate');
  expect(contractProblems(review, outcome.review, 'validate')).toEqual([]);
  const response = outcome.review.response!;
  return {
    allowed: response.allowed,
    message: response.status?.message ?? '',
    code: response.status?.code,
  };
}

describe('TrafficSplit validation through the webhook engine', () => {
  it.each(['v1alpha1', 'v1alpha2', 'v1alpha3', 'v1alpha4'])(
    'allows a valid %s split',
    async (v) => {
      const w = v === 'v1alpha1' ? ['900m', '100m'] : [900, 100];
      const result = await validate(
        split(v, [
          { service: 'reviews-v1', weight: w[0] },
          { service: 'reviews-v2.shop.svc.cluster.local', weight: w[1] },
        ]),
      );
      expect(result).toMatchObject({ allowed: true });
    },
  );

  it('denies all-zero weights, naming the backends and the fix', async () => {
    const result = await validate(
      split('v1alpha2', [
        { service: 'reviews-v1', weight: 0 },
        { service: 'reviews-v2', weight: 0 },
      ]),
    );
    expect(result).toEqual({
      allowed: false,
      code: 403,
      message:
        'TrafficSplit shop/reviews-rollout: spec.backends: every backend has weight 0, so no traffic could be routed: give at least one backend (reviews-v1, reviews-v2) a weight above 0',
    });
  });

  it('denies all-zero quantities in v1alpha1 (0 and 0m)', async () => {
    const result = await validate(
      split('v1alpha1', [
        { service: 'reviews-v1', weight: 0 },
        { service: 'reviews-v2', weight: '0m' },
      ]),
    );
    expect(result.allowed).toBe(false);
    expect(result.message).toMatch(/every backend has weight 0/);
  });

  it('denies a negative weight, naming the backend', async () => {
    const result = await validate(
      split('v1alpha3', [
        { service: 'reviews-v1', weight: 110 },
        { service: 'reviews-v2', weight: -10 },
      ]),
    );
    expect(result).toMatchObject({
      allowed: false,
      message:
        'TrafficSplit shop/reviews-rollout: spec.backends[1].weight: backend reviews-v2 has weight -10, which is negative: set a whole number of 0 or more (0 sends it no traffic)',
    });
  });

  it('denies a negative quantity in v1alpha1', async () => {
    const result = await validate(
      split('v1alpha1', [
        { service: 'reviews-v1', weight: '1' },
        { service: 'reviews-v2', weight: '-500m' },
      ]),
    );
    expect(result.message).toBe(
      'TrafficSplit shop/reviews-rollout: spec.backends[1].weight: backend reviews-v2 has weight "-500m", which is negative: set a quantity of 0 or more, such as 1, 500m or 0',
    );
  });

  it('denies a duplicate backend, however it is written', async () => {
    const result = await validate(
      split('v1alpha4', [
        { service: 'reviews-v1', weight: 50 },
        { service: 'reviews-v2', weight: 25 },
        { service: 'reviews-v1.shop', weight: 25 },
      ]),
    );
    expect(result).toMatchObject({
      allowed: false,
      message:
        'TrafficSplit shop/reviews-rollout: spec.backends[2]: backend reviews-v1 is listed twice (spec.backends[0] and [2]): list each Service once, with the combined weight',
    });
  });

  it('denies a backend in another namespace, naming it', async () => {
    const result = await validate(
      split('v1alpha2', [
        { service: 'reviews-v1', weight: 50 },
        { service: 'reviews-v2.staging.svc.cluster.local', weight: 50 },
      ]),
    );
    expect(result).toMatchObject({
      allowed: false,
      message:
        'TrafficSplit shop/reviews-rollout: spec.backends[1].service: backend "reviews-v2.staging.svc.cluster.local" is in namespace staging, but the TrafficSplit is in shop: backends must be Services in the split\'s own namespace; create a Service for it in shop or move the split',
    });
  });

  it('denies a root Service in another namespace', async () => {
    const result = await validate({
      ...split('v1alpha2', [{ service: 'reviews-v1', weight: 1 }]),
      spec: { service: 'reviews.other', backends: [{ service: 'reviews-v1', weight: 1 }] },
    });
    expect(result.message).toMatch(
      /spec\.service: root Service "reviews\.other" is in namespace other/,
    );
  });

  it('denies matches in a version without them, and allows them from v1alpha3', async () => {
    const matches = { matches: [{ kind: 'HTTPRouteGroup', name: 'ab-test' }] };
    const backends = [{ service: 'reviews-v1', weight: 1 }];
    const old = await validate(split('v1alpha2', backends, matches));
    expect(old.message).toBe(
      'TrafficSplit shop/reviews-rollout: spec.matches: split.smi-spec.io/v1alpha2 has no matches: use split.smi-spec.io/v1alpha3 or v1alpha4 for HTTPRouteGroup matches, or remove spec.matches',
    );
    expect((await validate(split('v1alpha3', backends, matches))).allowed).toBe(true);
    const wrongKind = await validate(
      split('v1alpha4', backends, { matches: [{ kind: 'TCPRoute', name: 'x' }] }),
    );
    expect(wrongKind.message).toMatch(
      /spec\.matches\[0\]: must be \{kind: HTTPRouteGroup, name: <group>\}/,
    );
  });

  it('denies fractions and strings where whole numbers are required', async () => {
    const result = await validate(
      split('v1alpha2', [
        { service: 'reviews-v1', weight: 1.5 },
        { service: 'reviews-v2', weight: '50' },
        { service: 'reviews-v3' },
      ]),
    );
    expect(result.message).toBe(
      [
        '3 problems:',
        '- TrafficSplit shop/reviews-rollout: spec.backends[0].weight: backend reviews-v1 has weight 1.5, which is not a whole number: set a whole number of 0 or more (0 sends it no traffic)',
        '- TrafficSplit shop/reviews-rollout: spec.backends[1].weight: backend reviews-v2 has weight "50" (a string), which is not a whole number: set a whole number of 0 or more (0 sends it no traffic)',
        '- TrafficSplit shop/reviews-rollout: spec.backends[2].weight: backend reviews-v3 has no weight: set a whole number of 0 or more (0 sends it no traffic)',
      ].join('\n'),
    );
  });

  it('denies a split without service or backends', async () => {
    const result = await validate({ ...split('v1alpha4', []), spec: {} });
    expect(result.message).toBe(
      [
        '2 problems:',
        '- TrafficSplit shop/reviews-rollout: spec.service: is missing: set the root Service that clients call',
        '- TrafficSplit shop/reviews-rollout: spec.backends: is missing: list at least one backend Service with a weight',
      ].join('\n'),
    );
  });

  it('checks updates too, and lets deletes through', async () => {
    const bad = split('v1alpha2', [{ service: 'reviews-v1', weight: 0 }]);
    expect((await validate(bad, { operation: 'UPDATE' })).allowed).toBe(false);
    expect((await validate(bad, { operation: 'DELETE' })).allowed).toBe(true);
  });

  it('enforces even when the policy says warn or audit: these are structural errors', async () => {
    const bad = split('v1alpha2', [{ service: 'reviews-v1', weight: -1 }]);
    for (const enforcement of ['warn', 'audit'] as const) {
      const policy = new PolicyStore(resolveSpec({ enforcement }));
      expect((await validate(bad, { policy })).allowed).toBe(false);
    }
  });

  it('leaves excluded namespaces alone', async () => {
    const bad = {
      ...split('v1alpha2', [{ service: 'reviews-v1', weight: -1 }]),
      metadata: { name: 'x', namespace: 'kube-system' },
    };
    expect((await validate(bad)).allowed).toBe(true);
  });
});
