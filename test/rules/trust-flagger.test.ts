import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import {
  auditOf,
  fixtureObject,
  messageOf,
  sa,
  trustEngine,
  validateAs,
  warningsOf,
} from '../helpers/controllers.js';

// The Canaries of Flagger's own examples (artifacts/examples), as the API server stores them.
const istioCanary = () => fixtureObject('flagger/istio-canary.yaml', 'Canary', { uid: 'c0ffee-1' });
const smiCanary = () =>
  fixtureObject('flagger/linkerd-canary-steps.yaml', 'Canary', { uid: 'c0ffee-2' });
const flagger = sa('istio-system', 'flagger');

const owner = (name = 'podinfo', uid = 'c0ffee-1') => [
  {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  },
];

/** The VirtualService Flagger's Istio router writes for istio-canary.yaml (pkg/router/istio.go). */
function flaggerVs(
  primary: number,
  canary: number,
  refs: unknown[] = owner(),
  name = 'podinfo',
): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'test', ownerReferences: refs as never },
    spec: {
      gateways: ['istio-system/public-gateway', 'mesh'],
      hosts: ['app.example.com', 'podinfo'],
      http: [
        {
          match: [{ uri: { prefix: '/' } }],
          rewrite: { uri: '/' },
          timeout: '30s',
          route: [
            { destination: { host: 'podinfo-primary', port: { number: 80 } }, weight: primary },
            { destination: { host: 'podinfo-canary', port: { number: 80 } }, weight: canary },
          ],
        },
      ],
    },
  };
}

/** The TrafficSplit Flagger's SMI router writes for linkerd-canary-steps.yaml (pkg/router/smi_v1alpha3.go). */
function flaggerSplit(primary: number, canary: number): KubeObject {
  return {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: {
      name: 'podinfo',
      namespace: 'test',
      ownerReferences: owner('podinfo', 'c0ffee-2'),
    },
    spec: {
      service: 'podinfo',
      backends: [
        { service: 'podinfo-canary', weight: canary },
        { service: 'podinfo-primary', weight: primary },
      ],
    },
  };
}

describe('Flagger with a verified Canary', () => {
  it('allows every step of istio-canary.yaml (stepWeight 5 to maxWeight 50), then promotion', async () => {
    const e = trustEngine({ canaries: [istioCanary()] });
    let cases = 0;
    for (let w = 5; w <= 50; w += 5) {
      const res = await validateAs(e, flaggerVs(100 - w, w), flaggerVs(105 - w, w - 5), flagger);
      expect(res.review.response?.allowed, `${w - 5} -> ${w}: ${messageOf(res)}`).toBe(true);
      cases++;
    }
    const promotion = await validateAs(e, flaggerVs(100, 0), flaggerVs(50, 50), flagger);
    expect(promotion.review.response?.allowed).toBe(true);
    expect(promotion.passed?.[0]?.reason).toBe(
      'trusted controller flagger istio-system/flagger for Canary test/podinfo: all traffic to podinfo-primary (promotion end or rollback)',
    );
    expect(cases).toBe(10);
  });

  it('allows the stepWeights of linkerd-canary-steps.yaml on the TrafficSplit, and the rollback', async () => {
    const e = trustEngine({ canaries: [smiCanary()] });
    const steps = [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55];
    let previous = 0;
    for (const w of steps) {
      const res = await validateAs(
        e,
        flaggerSplit(100 - w, w),
        flaggerSplit(100 - previous, previous),
        flagger,
      );
      expect(res.review.response?.allowed, `${previous} -> ${w}: ${messageOf(res)}`).toBe(true);
      previous = w;
    }
    const rollback = await validateAs(e, flaggerSplit(100, 0), flaggerSplit(45, 55), flagger);
    expect(rollback.review.response?.allowed).toBe(true);
    expect(auditOf(rollback)).toContain(
      'passed: trusted controller flagger istio-system/flagger for Canary test/podinfo',
    );
  });

  it('allows a rollback from 50/50 and from 40/60 straight to the primary', async () => {
    const e = trustEngine({ canaries: [istioCanary()] });
    for (const [p, c] of [
      [50, 50],
      [40, 60],
    ] as const) {
      const res = await validateAs(e, flaggerVs(100, 0), flaggerVs(p, c), flagger);
      expect(res.review.response?.allowed, `${p}/${c}`).toBe(true);
    }
  });

  it('allows promotion in steps of stepWeightPromotion back to the primary', async () => {
    const canary = istioCanary();
    (canary.spec as { analysis: Record<string, unknown> }).analysis.stepWeightPromotion = 20;
    const e = trustEngine({ canaries: [canary] });
    const res = await validateAs(e, flaggerVs(70, 30), flaggerVs(50, 50), flagger);
    expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    expect(res.passed?.[0]?.reason).toContain(
      'toward podinfo-primary within its step of 20 points',
    );
  });

  it("denies a move beyond the Canary's own steps even from Flagger's account", async () => {
    const e = trustEngine({ canaries: [istioCanary()] }, { weightShift: { maxStepWeight: 50 } });
    const res = await validateAs(e, flaggerVs(60, 40), flaggerVs(90, 10), flagger);
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain(
      'bounded by its analysis (steps of up to 5 points, canary at most 50%)',
    );
  });

  it('warns when a Canary steps further than the policy', async () => {
    const canary = istioCanary();
    (canary.spec as { analysis: Record<string, unknown> }).analysis.stepWeight = 30;
    const e = trustEngine({ canaries: [canary] });
    const res = await validateAs(e, flaggerVs(70, 30), flaggerVs(100, 0), flagger);
    expect(res.review.response?.allowed).toBe(true);
    expect(warningsOf(res).join('\n')).toContain('Canary test/podinfo steps by up to 30 points');
  });
});

describe('Flagger look-alikes are judged like anyone, and told why', () => {
  const jump = () => [flaggerVs(50, 50), flaggerVs(100, 0)] as const;
  const cases: [
    string,
    () => KubeObject[],
    KubeObject,
    { username: string; groups: string[] },
    string,
  ][] = [
    [
      'unknown Canary',
      () => [],
      jump()[0],
      flagger,
      'Canary test/podinfo named in its ownerReferences is not known to meshwarden',
    ],
    [
      'wrong uid (forged, or the Canary was recreated)',
      () => [istioCanary()],
      flaggerVs(50, 50, owner('podinfo', 'forged')),
      flagger,
      "has uid forged, but that Canary's uid is c0ffee-1",
    ],
    [
      'a real Canary of another app',
      () => [
        {
          ...istioCanary(),
          metadata: { name: 'reviews', namespace: 'test', uid: 'r1' },
          spec: { targetRef: { kind: 'Deployment', name: 'reviews' } },
        },
      ],
      flaggerVs(50, 50, owner('reviews', 'r1')),
      flagger,
      'Canary test/reviews acts on reviews, reviews-primary and reviews-canary, not on VirtualService test/podinfo',
    ],
    [
      'a ServiceAccount named flagger in another namespace',
      () => [istioCanary()],
      jump()[0],
      sa('team-a', 'flagger'),
      'to trust it, add {kind: flagger, serviceAccount: team-a/flagger} to spec.weightShift.trustedControllers',
    ],
    [
      'a person with a Canary ownerReference',
      () => [istioCanary()],
      jump()[0],
      { username: 'mallory@example.com', groups: ['system:authenticated'] },
      'not trusted as Flagger: mallory@example.com is not a trusted Flagger account',
    ],
  ];
  it.each(cases)('%s', async (_name, canaries, object, user, reason) => {
    const e = trustEngine({ canaries: canaries() });
    const res = await validateAs(e, object, jump()[1], user);
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain('would rise from 0% to 50%');
    expect(messageOf(res)).toContain(reason);
    expect(res.passed).toBeUndefined();
  });

  it('a namespace override may drop a trusted Flagger account, never add one', async () => {
    const { PolicyStore } = await import('../../src/policy/store.js');
    const { resolveSpec } = await import('../../src/policy/defaults.js');
    const { AdmissionEngine } = await import('../../src/admission/engine.js');
    const { staticClusterView } = await import('../../src/admission/cluster-view.js');
    const { defaultRules } = await import('../../src/rules/index.js');
    const store = new PolicyStore(resolveSpec());
    store.setNamespaceOverride('test', {
      weightShift: { trustedControllers: [{ kind: 'flagger', serviceAccount: 'team-a/flagger' }] },
    });
    const e = new AdmissionEngine({
      rules: defaultRules(),
      policy: store,
      cluster: staticClusterView({ canaries: [istioCanary()] }),
    });
    for (const user of [flagger, sa('team-a', 'flagger')]) {
      const res = await validateAs(e, flaggerVs(70, 30), flaggerVs(100, 0), user);
      expect(res.review.response?.allowed, user.username).toBe(false);
    }
  });
});
