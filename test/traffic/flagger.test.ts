import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import { flaggerManagement, flaggerOwner, flaggerStepLimit } from '../../src/traffic/flagger.js';

const owned = (ownerReferences: unknown): KubeObject =>
  ({ metadata: { name: 'podinfo', ownerReferences } }) as KubeObject;

describe('flaggerOwner', () => {
  it('finds the controlling Canary of any flagger.app version', () => {
    expect(
      flaggerOwner(
        owned([{ apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'podinfo', uid: 'u' }]),
      ),
    ).toBe('podinfo');
    expect(
      flaggerOwner(owned([{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'u' }])),
    ).toBeUndefined();
  });

  it('reads malformed ownerReferences without throwing (admission objects are untyped JSON)', () => {
    for (const bad of [{ kind: 'Canary' }, 'Canary', 42, null, [null, 'x', { kind: 'Canary' }]]) {
      expect(flaggerOwner(owned(bad))).toBeUndefined();
    }
  });
});

describe('flaggerManagement', () => {
  it('recognises Flagger’s service account in any namespace, naming the Canary after the target', () => {
    const object = { metadata: { name: 'podinfo-canary' } } as KubeObject;
    expect(flaggerManagement(object, 'system:serviceaccount:istio-system:flagger')).toEqual({
      canaryName: 'podinfo',
      evidence: 'service-account',
    });
    expect(flaggerManagement(object, 'system:serviceaccount:ops:flagger-helper')).toBeUndefined();
  });
});

describe('flaggerStepLimit', () => {
  it('is the largest of stepWeight, the gaps in stepWeights and stepWeightPromotion', () => {
    expect(
      flaggerStepLimit({
        stepWeight: 0,
        stepWeights: [1, 2, 10, 80],
        stepWeightPromotion: 0,
        maxWeight: 0,
        iterations: 0,
      }),
    ).toBe(70);
    expect(
      flaggerStepLimit({
        stepWeight: 10,
        stepWeights: [],
        stepWeightPromotion: 30,
        maxWeight: 50,
        iterations: 0,
      }),
    ).toBe(30);
  });
});
