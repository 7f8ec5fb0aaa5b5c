import type { KubeObject } from '../k8s/objects.js';
import { asArray, asRecord, isRecord } from '../util/objects.js';

/**
 * How meshwarden recognises objects that Flagger manages, and what a Canary's analysis allows
 * (fluxcd/flagger pkg/controller/scheduler.go). Flagger's weights are integers summing to 100.
 */

export interface FlaggerManagement {
  /** Name of the controlling Canary, when the object says (ownerReferences) or the name implies it. */
  readonly canaryName: string | undefined;
  /** How it was recognised, for audit records. */
  readonly evidence: 'owner' | 'service-account';
}

/** The Canary controlling an object, from its ownerReferences (set by Flagger by default). */
export function flaggerOwner(object: KubeObject): string | undefined {
  // Read defensively: admission objects are untyped JSON.
  for (const ref of asArray(object.metadata?.ownerReferences) ?? []) {
    if (
      isRecord(ref) &&
      ref.kind === 'Canary' &&
      typeof ref.apiVersion === 'string' &&
      ref.apiVersion.startsWith('flagger.app/')
    ) {
      return typeof ref.name === 'string' ? ref.name : '';
    }
  }
  return undefined;
}

/** Flagger's service account in any namespace (its kustomize bases use flagger-system or istio-system). */
export function isFlaggerUser(username: string | undefined): boolean {
  return username !== undefined && /^system:serviceaccount:[^:]+:flagger$/.test(username);
}

export function flaggerManagement(
  object: KubeObject,
  username: string | undefined,
): FlaggerManagement | undefined {
  const owner = flaggerOwner(object);
  if (owner !== undefined) return { canaryName: owner, evidence: 'owner' };
  if (isFlaggerUser(username)) {
    // Flagger names its routing objects after the target: <name>, <name>-primary, <name>-canary.
    const name = object.metadata?.name ?? '';
    return { canaryName: name.replace(/-(primary|canary)$/, ''), evidence: 'service-account' };
  }
  return undefined;
}

export interface CanaryAnalysis {
  readonly stepWeight: number;
  readonly stepWeights: readonly number[];
  readonly stepWeightPromotion: number;
  readonly maxWeight: number;
  readonly iterations: number;
}

/** Reads `spec.analysis` (or the older `spec.canaryAnalysis`) of a Canary. */
export function canaryAnalysis(canary: KubeObject): CanaryAnalysis {
  const spec = asRecord(canary.spec);
  const analysis = asRecord(spec?.analysis) ?? asRecord(spec?.canaryAnalysis) ?? {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  return {
    stepWeight: num(analysis.stepWeight),
    stepWeights: (asArray(analysis.stepWeights) ?? []).map(num),
    stepWeightPromotion: num(analysis.stepWeightPromotion),
    maxWeight: num(analysis.maxWeight),
    iterations: num(analysis.iterations),
  };
}

/**
 * The largest single change of a backend's share Flagger makes with these settings, other than
 * its one-shot moves to 100/0 or 0/100: a stepWeight, the largest gap in stepWeights, or a
 * promotion step.
 */
export function flaggerStepLimit(analysis: CanaryAnalysis): number {
  let gaps = 0;
  let previous = 0;
  for (const w of analysis.stepWeights) {
    gaps = Math.max(gaps, w - previous);
    previous = w;
  }
  return Math.max(analysis.stepWeight, gaps, analysis.stepWeightPromotion);
}
