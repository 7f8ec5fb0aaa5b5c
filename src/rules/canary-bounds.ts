import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
  type Violation,
} from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { canaryAnalysis } from '../traffic/flagger.js';
import { asRecord } from '../util/objects.js';
import { formatWeights, oversizedRises, stepsThatPass } from './step-plan.js';
import { canaryPeak } from './trust-flagger.js';

const RULE = 'canary-bounds';

/**
 * Flagger Canaries are held to the weight-shift policy: a trusted Flagger moves traffic by its
 * Canary's analysis, so a Canary stepping further than `maxStepWeight` (or taking the canary
 * past `maxCanaryWeight`) would let anyone who may write Canaries move traffic further than
 * they may themselves (fluxcd/flagger pkg/controller/scheduler.go: stepWeight, stepWeights,
 * maxWeight, stepWeightPromotion).
 */
export const canaryBounds: Validator = {
  name: RULE,
  kinds: [{ group: 'flagger.app', kind: 'Canary' }],
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const { maxStepWeight: max, maxCanaryWeight: cap, enforcement } = ctx.policy.weightShift;
    const spec = asRecord(object.spec);
    // Flagger's kubernetes provider moves no traffic: only Deployments are swapped.
    if (!spec || spec.provider === 'kubernetes') return NO_FINDINGS;
    const field = asRecord(spec.analysis) ? 'spec.analysis' : 'spec.canaryAnalysis';
    const a = canaryAnalysis(object);
    const match = asRecord(spec.analysis ?? spec.canaryAnalysis)?.match;
    const id = `Canary ${object.metadata?.namespace ?? ctx.request.namespace ?? ''}/${object.metadata?.name ?? ''}`;
    const found: Omit<Violation, 'enforcement'>[] = [];
    const limit = `the policy allows +${max} points per update (weightShift.maxStepWeight)`;
    if (a.stepWeights.length > 0) {
      const rises = oversizedRises(a.stepWeights, max);
      const first = rises[0];
      if (first)
        found.push({
          rule: RULE,
          field: `${field}.stepWeights`,
          message: `${id}: stepWeights [${formatWeights(a.stepWeights)}] moves the canary from ${first.from}% to ${first.to}% in one step; ${limit}: use stepWeights: [${formatWeights(stepsThatPass(a.stepWeights, max))}]`,
          summary: `${id}: stepWeights ${first.from}→${first.to} exceeds maxStepWeight ${max}`,
        });
    } else if (a.stepWeight > max) {
      const weights = flaggerWeights(a.stepWeight, a.maxWeight);
      found.push({
        rule: RULE,
        field: `${field}.stepWeight`,
        message: `${id}: stepWeight ${a.stepWeight} moves the canary ${a.stepWeight} points per step; ${limit}: set stepWeight to ${max} or less, or use stepWeights: [${formatWeights(stepsThatPass(weights, max))}]`,
        summary: `${id}: stepWeight ${a.stepWeight} exceeds maxStepWeight ${max}`,
      });
    } else if (a.stepWeight === 0 && a.iterations > 0 && match === undefined && max < 100) {
      // Blue/Green: after its iterations Flagger routes all traffic to the canary at once.
      found.push({
        rule: RULE,
        field: `${field}.iterations`,
        message: `${id}: Blue/Green analysis (iterations without stepWeight) sends all traffic to the canary in one step; ${limit}: use stepWeights: [${formatWeights(stepsThatPass([100], max))}], or A/B analysis.match for targeted traffic`,
        summary: `${id}: Blue/Green moves 100 points at once; maxStepWeight is ${max}`,
      });
    }
    if (a.stepWeightPromotion > max)
      found.push({
        rule: RULE,
        field: `${field}.stepWeightPromotion`,
        message: `${id}: stepWeightPromotion ${a.stepWeightPromotion} moves ${a.stepWeightPromotion} points per promotion step; ${limit}: set stepWeightPromotion to ${max} or less (0 returns all traffic to the primary at once, which is always allowed)`,
        summary: `${id}: stepWeightPromotion ${a.stepWeightPromotion} exceeds maxStepWeight ${max}`,
      });
    const peak = canaryPeak(a);
    if (cap < 100 && match === undefined && peak > cap)
      found.push({
        rule: RULE,
        field: `${field}.${a.stepWeights.length > 0 ? 'stepWeights' : 'maxWeight'}`,
        message: `${id}: the canary would reach ${peak}%, above weightShift.maxCanaryWeight ${cap}%${a.stepWeight > 0 ? ` (Flagger's last step may pass maxWeight: with stepWeight ${a.stepWeight} use maxWeight ${Math.max(a.stepWeight, Math.floor(cap / a.stepWeight) * a.stepWeight)} or less)` : `: keep every weight at ${cap} or less`}`,
        summary: `${id}: canary would reach ${peak}%, above maxCanaryWeight ${cap}%`,
      });
    return found.length === 0
      ? NO_FINDINGS
      : { violations: found.map((v) => ({ ...v, enforcement })) };
  },
};

/** The canary weights Flagger steps through with a stepWeight: step, 2·step, ... up to maxWeight. */
function flaggerWeights(step: number, maxWeight: number): number[] {
  const max = maxWeight > 0 ? maxWeight : 100;
  const out: number[] = [];
  // The check comes before the step, so the last one may pass maxWeight.
  for (let w = 0; w < max && out.length < 100;) {
    w = Math.min(100, w + step);
    out.push(w);
  }
  return out;
}
