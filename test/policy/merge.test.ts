import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../../src/policy/defaults.js';
import { looseningErrors, tightest } from '../../src/policy/merge.js';
import { PolicyStore } from '../../src/policy/store.js';
import { ENFORCEMENTS, type PolicySpecInput } from '../../src/policy/types.js';

const cluster = resolveSpec({
  enforcement: 'warn',
  weightShift: { maxStepWeight: 20, overrideGroups: ['system:masters', 'sre'] },
});

describe('looseningErrors (tighten-only)', () => {
  it('accepts an override that only tightens', () => {
    expect(
      looseningErrors(cluster, {
        enforcement: 'enforce',
        weightShift: { maxStepWeight: 10, overrideGroups: ['sre'] },
      }),
    ).toEqual([]);
  });

  it('refuses a larger maxStepWeight with the cluster value in the message', () => {
    const errors = looseningErrors(cluster, { weightShift: { maxStepWeight: 50 } });
    expect(errors).toEqual([
      {
        key: 'spec.weightShift.maxStepWeight',
        message: "50 is looser than the cluster's 20; a namespace may only lower it (tighten-only)",
      },
    ]);
  });

  it('refuses a looser enforcement, a shorter interval, extra override groups and cluster-only keys', () => {
    const keys = looseningErrors(resolveSpec({ weightShift: { minStepIntervalSeconds: 60 } }), {
      enforcement: 'audit',
      mesh: 'linkerd',
      weightShift: { minStepIntervalSeconds: 10, overrideGroups: ['devs'] },
      versionLabels: { required: false },
      sidecarInjection: { enabled: false },
    }).map((e) => e.key);
    expect(keys.sort()).toEqual(
      [
        'spec.mesh',
        'spec.enforcement',
        'spec.weightShift.minStepIntervalSeconds',
        'spec.weightShift.overrideGroups',
        'spec.versionLabels.required',
        'spec.sidecarInjection.enabled',
      ].sort(),
    );
  });
});

const enforcementArb = fc.constantFrom(...ENFORCEMENTS);
const overrideArb: fc.Arbitrary<PolicySpecInput> = fc.record(
  {
    enforcement: enforcementArb,
    versionLabels: fc.record(
      { required: fc.boolean(), enforcement: enforcementArb },
      { requiredKeys: [] },
    ),
    weightShift: fc.record(
      {
        enforcement: enforcementArb,
        maxStepWeight: fc.integer({ min: 1, max: 100 }),
        maxTotalStepWeight: fc.integer({ min: 1, max: 100 }),
        maxCanaryWeight: fc.integer({ min: 1, max: 100 }),
        maxTotalCanaryWeight: fc.integer({ min: 1, max: 100 }),
        minStepIntervalSeconds: fc.integer({ min: 0, max: 3600 }),
        overrideGroups: fc.subarray(['system:masters', 'sre', 'devs']),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe('tightest', () => {
  it('never yields anything looser than the cluster policy, whatever the override', () => {
    fc.assert(
      fc.property(overrideArb, (override) => {
        const merged = tightest(cluster, override);
        const rank = (e: (typeof ENFORCEMENTS)[number]) => ENFORCEMENTS.indexOf(e);
        expect(rank(merged.enforcement)).toBeGreaterThanOrEqual(rank(cluster.enforcement));
        expect(rank(merged.weightShift.enforcement)).toBeGreaterThanOrEqual(
          rank(cluster.weightShift.enforcement),
        );
        expect(rank(merged.versionLabels.enforcement)).toBeGreaterThanOrEqual(
          rank(cluster.versionLabels.enforcement),
        );
        expect(merged.weightShift.maxStepWeight).toBeLessThanOrEqual(
          cluster.weightShift.maxStepWeight,
        );
        expect(merged.weightShift.maxTotalStepWeight).toBeLessThanOrEqual(
          cluster.weightShift.maxTotalStepWeight,
        );
        expect(merged.weightShift.maxStepWeight).toBeLessThanOrEqual(
          merged.weightShift.maxTotalStepWeight,
        );
        expect(merged.weightShift.maxCanaryWeight).toBeLessThanOrEqual(
          cluster.weightShift.maxCanaryWeight,
        );
        expect(merged.weightShift.maxTotalCanaryWeight).toBeLessThanOrEqual(
          cluster.weightShift.maxTotalCanaryWeight,
        );
        expect(merged.weightShift.maxCanaryWeight).toBeLessThanOrEqual(
          merged.weightShift.maxTotalCanaryWeight,
        );
        expect(merged.weightShift.minStepIntervalSeconds).toBeGreaterThanOrEqual(
          cluster.weightShift.minStepIntervalSeconds,
        );
        for (const g of merged.weightShift.overrideGroups)
          expect(cluster.weightShift.overrideGroups).toContain(g);
        if (cluster.versionLabels.required) expect(merged.versionLabels.required).toBe(true);
      }),
    );
  });

  it('applies a tightening override as written', () => {
    const merged = tightest(cluster, { weightShift: { maxStepWeight: 5 }, enforcement: 'enforce' });
    expect(merged.weightShift.maxStepWeight).toBe(5);
    expect(merged.weightShift.enforcement).toBe('enforce');
  });
});

describe('maxTotalStepWeight', () => {
  it('defaults to maxStepWeight, and a lower total lowers maxStepWeight to it', () => {
    expect(resolveSpec({ weightShift: { maxStepWeight: 30 } }).weightShift).toMatchObject({
      maxStepWeight: 30,
      maxTotalStepWeight: 30,
    });
    expect(
      resolveSpec({ weightShift: { maxStepWeight: 30, maxTotalStepWeight: 10 } }).weightShift,
    ).toMatchObject({ maxStepWeight: 10, maxTotalStepWeight: 10 });
    expect(
      resolveSpec({ weightShift: { maxStepWeight: 20, maxTotalStepWeight: 40 } }).weightShift,
    ).toMatchObject({ maxStepWeight: 20, maxTotalStepWeight: 40 });
  });

  it('a namespace may lower it, never raise it, and a lower total lowers its maxStepWeight', () => {
    expect(looseningErrors(cluster, { weightShift: { maxTotalStepWeight: 30 } })).toEqual([
      {
        key: 'spec.weightShift.maxTotalStepWeight',
        message: "30 is looser than the cluster's 20; a namespace may only lower it (tighten-only)",
      },
    ]);
    expect(looseningErrors(cluster, { weightShift: { maxTotalStepWeight: 10 } })).toEqual([]);
    const merged = tightest(cluster, { weightShift: { maxTotalStepWeight: 10 } });
    expect(merged.weightShift).toMatchObject({ maxStepWeight: 10, maxTotalStepWeight: 10 });
    // The cluster's total stays when the namespace lowers only the per-backend step, whether the
    // cluster set it or left it to follow its own maxStepWeight (docs/cluster.md).
    expect(tightest(cluster, { weightShift: { maxStepWeight: 10 } }).weightShift).toMatchObject({
      maxStepWeight: 10,
      maxTotalStepWeight: 20,
    });
    const wide = resolveSpec({ weightShift: { maxStepWeight: 20, maxTotalStepWeight: 40 } });
    expect(tightest(wide, { weightShift: { maxStepWeight: 10 } }).weightShift).toMatchObject({
      maxStepWeight: 10,
      maxTotalStepWeight: 40,
    });
  });
});

describe('maxTotalCanaryWeight', () => {
  it('follows maxCanaryWeight, lowers it when below, and a namespace may only lower it', () => {
    expect(resolveSpec({ weightShift: { maxCanaryWeight: 50 } }).weightShift).toMatchObject({
      maxCanaryWeight: 50,
      maxTotalCanaryWeight: 50,
    });
    expect(
      resolveSpec({ weightShift: { maxCanaryWeight: 80, maxTotalCanaryWeight: 50 } }).weightShift,
    ).toMatchObject({ maxCanaryWeight: 50, maxTotalCanaryWeight: 50 });
    const capped = resolveSpec({ weightShift: { maxCanaryWeight: 50 } });
    expect(looseningErrors(capped, { weightShift: { maxTotalCanaryWeight: 60 } })).toEqual([
      {
        key: 'spec.weightShift.maxTotalCanaryWeight',
        message: "60 is looser than the cluster's 50; a namespace may only lower it (tighten-only)",
      },
    ]);
    expect(
      tightest(capped, { weightShift: { maxTotalCanaryWeight: 30 } }).weightShift,
    ).toMatchObject({ maxCanaryWeight: 30, maxTotalCanaryWeight: 30 });
  });
});

describe('PolicyStore', () => {
  it('serves the cluster policy to namespaces without an override and the merged one otherwise', () => {
    const store = new PolicyStore(cluster);
    store.setNamespaceOverride('shop', { weightShift: { maxStepWeight: 10 } });
    expect(store.forNamespace('other').weightShift.maxStepWeight).toBe(20);
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(10);
    expect(store.forNamespace(undefined)).toBe(store.cluster);
  });

  it('recomputes namespace policies when the cluster policy changes', () => {
    const store = new PolicyStore(cluster);
    store.setNamespaceOverride('shop', { weightShift: { maxStepWeight: 10 } });
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(10);
    store.setCluster(resolveSpec({ weightShift: { maxStepWeight: 5 } }));
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(5);
  });

  it('ignores namespace overrides when namespaceOverrides is off', () => {
    const store = new PolicyStore(resolveSpec({ namespaceOverrides: 'off' }));
    store.setNamespaceOverride('shop', { weightShift: { maxStepWeight: 10 } });
    expect(store.forNamespace('shop').weightShift.maxStepWeight).toBe(20);
  });

  it('is not loaded until a policy is installed when constructed so', () => {
    const store = new PolicyStore(resolveSpec(), false);
    expect(store.loaded).toBe(false);
    store.setCluster(resolveSpec());
    expect(store.loaded).toBe(true);
  });
});
