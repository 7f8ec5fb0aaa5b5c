import {
  NO_FINDINGS,
  type RuleContext,
  type ValidationResult,
  type Validator,
  type Violation,
} from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import { readRolloutRouting } from './argo-rollout.js';
import { formatWeights, oversizedRises, stepsThatPass } from './step-plan.js';

const RULE = 'rollout-bounds';

/**
 * Argo Rollouts with traffic routing are held to the weight-shift policy: the trusted Argo
 * controller writes each `setWeight` step to the routes, so the steps themselves must grow by
 * at most `maxStepWeight` (the first one from 0) and stay within `maxCanaryWeight` below 100. An
 * experiment step's weighted templates take their traffic from the stable version in one write:
 * each at most `maxStepWeight`, all together at most `maxTotalStepWeight`.
 * The full promotion after the last step and the reset after it are the controller's own and
 * not bounded here.
 */
export const rolloutBounds: Validator = {
  name: RULE,
  kinds: [{ group: 'argoproj.io', kind: 'Rollout', versions: ['v1alpha1'] }],
  operations: ['CREATE', 'UPDATE'],
  validate(object: KubeObject, ctx: RuleContext): ValidationResult {
    const routing = readRolloutRouting(object);
    if (!routing.routed || (routing.steps.length === 0 && routing.experiments.length === 0))
      return NO_FINDINGS;
    const {
      maxStepWeight: max,
      maxTotalStepWeight: total,
      maxCanaryWeight: cap,
      maxTotalCanaryWeight: totalCap,
      enforcement,
    } = ctx.policy.weightShift;
    const id = `Rollout ${object.metadata?.namespace ?? ctx.request.namespace ?? ''}/${object.metadata?.name ?? ''}`;
    // setWeight is out of maxTrafficWeight (100 unless set); the policy speaks in percent.
    const scale = 100 / routing.maxTrafficWeight;
    const percents = routing.steps.map((s) => s.weight * scale);
    const found: Omit<Violation, 'enforcement'>[] = [];
    const first = oversizedRises(percents, max)[0];
    const step = first === undefined ? undefined : routing.steps[first.index];
    if (first && step) {
      const fix = stepsThatPass(percents, max).map((p) => p / scale);
      found.push({
        rule: RULE,
        field: step.path,
        message:
          `${id}: setWeight steps ${formatWeights(routing.steps.map((s) => s.weight))} move the canary from ${formatWeights([first.from])}% to ${formatWeights([first.to])}% in one step; ` +
          `the policy allows +${max} points per update (weightShift.maxStepWeight): use setWeight steps ${formatWeights(fix)}`,
        summary: `${id}: setWeight ${formatWeights([first.from])}→${formatWeights([first.to])} exceeds maxStepWeight ${max}`,
      });
    }
    const over = routing.steps.find(
      (s, i) => cap < 100 && (percents[i] ?? 0) > cap && (percents[i] ?? 0) < 100,
    );
    if (over)
      found.push({
        rule: RULE,
        field: over.path,
        message: `${id}: setWeight ${over.weight} sends ${formatWeights([over.weight * scale])}% to the canary, above weightShift.maxCanaryWeight ${cap}%: keep setWeight steps at ${formatWeights([cap / scale])} or less before the full promotion`,
        summary: `${id}: setWeight ${over.weight} is above maxCanaryWeight ${cap}%`,
      });
    for (const e of routing.experiments) {
      const percentsOf = e.weights.map((w) => w * scale);
      const templates = percentsOf.map((p) => `${formatWeights([p])}%`).join(', ');
      const sum = percentsOf.reduce((a, b) => a + b, 0);
      const widest = Math.max(...percentsOf);
      if (sum > total || widest > max)
        found.push({
          rule: RULE,
          field: e.path,
          message:
            `${id}: the experiment at steps[${e.index}] sends ${templates} to its templates (${formatWeights([sum])}% together) in one update, all taken from the stable version; ` +
            `the policy allows +${max} points per backend (weightShift.maxStepWeight) and +${total} for all of them together (weightShift.maxTotalStepWeight): give the templates weights of at most ${formatWeights([max / scale])} each and ${formatWeights([total / scale])} together`,
          summary: `${id}: experiment weights ${formatWeights(e.weights)} exceed ${sum > total ? `maxTotalStepWeight ${total}` : `maxStepWeight ${max}`}`,
        });
      // Beside the templates the canary keeps the last setWeight before the experiment.
      const canary = e.canaryWeight * scale;
      const held = canary + sum;
      const overTotal = totalCap < 100 && held > totalCap;
      if (overTotal || (cap < 100 && widest > cap))
        found.push({
          rule: RULE,
          field: e.path,
          message:
            `${id}: the experiment at steps[${e.index}] puts ${formatWeights([canary])}% on the canary and ${templates} on its templates (${formatWeights([held])}% beside the stable version); ` +
            `the policy allows at most ${cap}% per backend (weightShift.maxCanaryWeight) and ${totalCap}% for all of them together (weightShift.maxTotalCanaryWeight): lower the templates' weights or the setWeight before them`,
          summary: `${id}: experiment at steps[${e.index}] holds ${formatWeights([held])}% beside stable, above ${overTotal ? `maxTotalCanaryWeight ${totalCap}` : `maxCanaryWeight ${cap}`}%`,
        });
    }
    return found.length === 0
      ? NO_FINDINGS
      : { violations: found.map((v) => ({ ...v, enforcement })) };
  },
};
