import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { fixtureObject, messageOf, trustEngine, validateAs } from '../helpers/controllers.js';

const person = { username: 'jane@example.com', groups: ['system:authenticated'] };
const canary = (analysis: Record<string, unknown>): KubeObject => {
  const c = fixtureObject('flagger/istio-canary.yaml', 'Canary');
  (c.spec as { analysis: Record<string, unknown> }).analysis = {
    interval: '15s',
    threshold: 10,
    ...analysis,
  };
  return c;
};

describe('Flagger Canaries are held to the policy', () => {
  it("passes Flagger's own examples (stepWeight 5, stepWeights of 5)", async () => {
    for (const file of ['flagger/istio-canary.yaml', 'flagger/linkerd-canary-steps.yaml']) {
      const res = await validateAs(trustEngine(), fixtureObject(file, 'Canary'), undefined, person);
      expect(res.review.response?.allowed, `${file}: ${messageOf(res)}`).toBe(true);
    }
  });
  const denied: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    [
      'stepWeight 50 under maxStepWeight 20',
      { stepWeight: 50, maxWeight: 50 },
      {},
      'set stepWeight to 20 or less, or use stepWeights: [20, 40, 50]',
    ],
    [
      'a +70 stepWeights jump',
      { stepWeights: [1, 2, 10, 80] },
      {},
      'moves the canary from 10% to 80% in one step; the policy allows +20 points per update (weightShift.maxStepWeight): use stepWeights: [1, 2, 10, 30, 50, 70, 80]',
    ],
    [
      'a first stepWeights step over the limit',
      { stepWeights: [30, 50] },
      {},
      'use stepWeights: [20, 30, 50]',
    ],
    [
      'stepWeightPromotion 50',
      { stepWeight: 10, stepWeightPromotion: 50 },
      {},
      'set stepWeightPromotion to 20 or less',
    ],
    [
      'Blue/Green under a step limit',
      { iterations: 10 },
      {},
      'use stepWeights: [20, 40, 60, 80, 100]',
    ],
    [
      'overshooting maxCanaryWeight',
      { stepWeight: 20, maxWeight: 50 },
      { maxCanaryWeight: 50 },
      "the canary would reach 60%, above weightShift.maxCanaryWeight 50% (Flagger's last step may pass maxWeight: with stepWeight 20 use maxWeight 40 or less)",
    ],
  ];
  it.each(denied)('refuses %s, with the fix', async (_n, analysis, ws, fix) => {
    const res = await validateAs(
      trustEngine({}, { weightShift: ws }),
      canary(analysis),
      undefined,
      person,
    );
    expect(res.review.response?.allowed).toBe(false);
    expect(res.deniedBy).toBe('canary-bounds');
    expect(messageOf(res)).toContain(fix);
  });
  it('leaves A/B analysis (targeted traffic) and the kubernetes provider alone', async () => {
    const ab = canary({
      iterations: 10,
      match: [{ headers: { 'x-canary': { exact: 'insider' } } }],
    });
    expect((await validateAs(trustEngine(), ab, undefined, person)).review.response?.allowed).toBe(
      true,
    );
    const k8s = canary({ iterations: 10 });
    (k8s.spec as Record<string, unknown>).provider = 'kubernetes';
    expect((await validateAs(trustEngine(), k8s, undefined, person)).review.response?.allowed).toBe(
      true,
    );
  });
});

/**
 * Argo's examples carry no `version` pod label, which version-labels asks of every Rollout; these
 * tests are about the steps, so the label is added.
 */
const rollout = (file: string): KubeObject => {
  const r = fixtureObject(file, 'Rollout');
  const template = (r.spec as { template: { metadata?: { labels?: Record<string, string> } } })
    .template;
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, version: 'v1' },
  };
  return r;
};

describe('Argo Rollouts are held to the policy', () => {
  it('passes the getting-started Rollouts (setWeight 5)', async () => {
    for (const file of ['argo-istio/rollout.yaml', 'argo-smi/rollout.yaml']) {
      const res = await validateAs(trustEngine(), rollout(file), undefined, person);
      expect(res.review.response?.allowed, `${file}: ${messageOf(res)}`).toBe(true);
    }
  });
  it('refuses the envoygateway Rollout (30, 60, 100) under maxStepWeight 20, with the steps that pass', async () => {
    const res = await validateAs(
      trustEngine(),
      rollout('argo-gatewayapi/rollout.yaml'),
      undefined,
      person,
    );
    expect(res.review.response?.allowed).toBe(false);
    expect(res.deniedBy).toBe('rollout-bounds');
    expect(messageOf(res)).toBe(
      'Rollout default/rollouts-demo: setWeight steps 30, 60, 100 move the canary from 0% to 30% in one step; the policy allows +20 points per update (weightShift.maxStepWeight): use setWeight steps 20, 30, 50, 60, 80, 100',
    );
  });
  it('reads setWeight out of maxTrafficWeight, and checks maxCanaryWeight', async () => {
    const r = rollout('argo-istio/rollout.yaml');
    const canaryStrategy = (
      r.spec as {
        strategy: { canary: { trafficRouting: Record<string, unknown>; steps: unknown[] } };
      }
    ).strategy.canary;
    canaryStrategy.trafficRouting.maxTrafficWeight = 1000;
    canaryStrategy.steps = [{ setWeight: 200 }, { setWeight: 400 }, { setWeight: 700 }];
    const res = await validateAs(
      trustEngine({}, { weightShift: { maxStepWeight: 30, maxCanaryWeight: 60 } }),
      r,
      undefined,
      person,
    );
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain(
      'setWeight 700 sends 70% to the canary, above weightShift.maxCanaryWeight 60%',
    );
  });
  it('holds the weighted templates of an experiment step to both step limits', async () => {
    // The experiment step of Argo's traffic-routing docs: two templates at 5 each pass.
    const withExperiment = (weights: number[]) => {
      const r = rollout('argo-istio/rollout.yaml');
      const c = (r.spec as { strategy: { canary: { steps: unknown[] } } }).strategy.canary;
      c.steps = [
        { setWeight: 20 },
        {
          experiment: {
            duration: '1h',
            templates: weights.map((weight, i) => ({
              name: `experiment-${i}`,
              specRef: i === 0 ? 'stable' : 'canary',
              weight,
            })),
          },
        },
      ];
      return r;
    };
    const ok = await validateAs(trustEngine(), withExperiment([5, 5]), undefined, person);
    expect(ok.review.response?.allowed, messageOf(ok)).toBe(true);
    const res = await validateAs(trustEngine(), withExperiment([15, 15]), undefined, person);
    expect(res.review.response?.allowed).toBe(false);
    expect(res.deniedBy).toBe('rollout-bounds');
    expect(messageOf(res)).toBe(
      'Rollout default/rollouts-demo: the experiment at steps[1] sends 15%, 15% to its templates (30% together) in one update, all taken from the stable version; ' +
        'the policy allows +20 points per backend (weightShift.maxStepWeight) and +20 for all of them together (weightShift.maxTotalStepWeight): give the templates weights of at most 20 each and 20 together',
    );
    const wide = trustEngine({}, { weightShift: { maxTotalStepWeight: 30 } });
    const passes = await validateAs(wide, withExperiment([15, 15]), undefined, person);
    expect(passes.review.response?.allowed, messageOf(passes)).toBe(true);
    // Beside the templates the canary keeps setWeight 20: 40% off the stable version.
    const capped = trustEngine({}, { weightShift: { maxCanaryWeight: 30 } });
    const held = await validateAs(capped, withExperiment([10, 10]), undefined, person);
    expect(held.review.response?.allowed).toBe(false);
    expect(messageOf(held)).toBe(
      'Rollout default/rollouts-demo: the experiment at steps[1] puts 20% on the canary and 10%, 10% on its templates (40% beside the stable version); ' +
        "the policy allows at most 30% per backend (weightShift.maxCanaryWeight) and 30% for all of them together (weightShift.maxTotalCanaryWeight): lower the templates' weights or the setWeight before them",
    );
    const room = trustEngine(
      {},
      { weightShift: { maxCanaryWeight: 30, maxTotalCanaryWeight: 40 } },
    );
    const fits = await validateAs(room, withExperiment([10, 10]), undefined, person);
    expect(fits.review.response?.allowed, messageOf(fits)).toBe(true);
  });
  it('leaves Rollouts without traffic routing alone', async () => {
    const res = await validateAs(trustEngine(), rollout('rollout-canary.yaml'), undefined, person);
    expect(res.review.response?.allowed, messageOf(res)).toBe(true);
  });
});
