import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/k8s/objects.js';
import {
  auditOf,
  fixture,
  fixtureObject,
  messageOf,
  sa,
  trustEngine,
  validateAs,
  warningsOf,
} from '../helpers/controllers.js';

const argo = sa('argo-rollouts', 'argo-rollouts');
const canaryOf = (r: KubeObject) =>
  (r.spec as { strategy: { canary: Record<string, unknown> } }).strategy.canary;
type Http = {
  name?: string;
  route?: { destination: { host: string; subset?: string }; weight?: number }[];
};

/** rollout/trafficrouting/istio/istio.go processRoutes: canary host or subset = w, stable = 100 - w. */
function argoIstioWrite(vs: KubeObject, routes: string[], canary: string, w: number): KubeObject {
  const copy = structuredClone(vs);
  const http = (copy.spec as { http: Http[] }).http;
  for (const r of http) {
    if (routes.length > 0 ? !routes.includes(r.name ?? '') : http.length !== 1) continue;
    for (const d of r.route ?? [])
      d.weight = d.destination.host === canary || d.destination.subset === canary ? w : 100 - w;
  }
  return copy;
}

/** The Istio Rollout of Argo's getting-started guide, with the steps of examples/rollout-canary.yaml. */
function istioRollout(): KubeObject {
  const rollout = fixtureObject('argo-istio/rollout.yaml', 'Rollout', { uid: 'ro-1' });
  const steps = canaryOf(fixtureObject('rollout-canary.yaml', 'Rollout')).steps;
  canaryOf(rollout).steps = steps;
  return rollout;
}

describe('Argo Rollouts: Istio (docs/getting-started/istio)', () => {
  const vs1 = () =>
    fixtureObject('argo-istio/multipleVirtualsvc.yaml', 'VirtualService', {
      name: 'rollouts-demo-vsvc1',
    });
  const write = (w: number) => argoIstioWrite(vs1(), ['primary'], 'rollouts-demo-canary', w);

  it('allows the setWeight steps 20, 40, 60, 80, the full promotion and the reset after it', async () => {
    const e = trustEngine({ rollouts: [istioRollout()] });
    const path = [0, 20, 40, 60, 80, 100, 0];
    const reasons: string[] = [];
    for (let i = 1; i < path.length; i++) {
      const res = await validateAs(e, write(path[i]!), write(path[i - 1]!), argo);
      expect(res.review.response?.allowed, `${path[i - 1]} -> ${path[i]}: ${messageOf(res)}`).toBe(
        true,
      );
      reasons.push(res.passed?.[0]?.reason ?? '');
    }
    expect(reasons[0]).toBe(
      'trusted controller argo-rollouts argo-rollouts/argo-rollouts for Rollout default/rollouts-demo: setWeight 20 (steps[0])',
    );
    expect(reasons[4]).toContain('full promotion (canary 100%)');
    expect(reasons[5]).toContain('post-promotion reset (stable 100%)');
  });

  it('allows an abort from any step back to stable', async () => {
    const e = trustEngine({ rollouts: [istioRollout()] });
    const res = await validateAs(e, write(0), write(60), argo);
    expect(res.review.response?.allowed).toBe(true);
    expect(res.passed?.[0]?.reason).toContain('abort (stable 100%)');
  });

  it('allows the dynamicStableScale abort that lowers the canary in steps', async () => {
    const rollout = istioRollout();
    canaryOf(rollout).dynamicStableScale = true;
    const res = await validateAs(trustEngine({ rollouts: [rollout] }), write(33), write(60), argo);
    expect(res.review.response?.allowed).toBe(true);
    expect(res.passed?.[0]?.reason).toContain('abort with dynamicStableScale');
  });

  it('judges a weight that is none of the Rollout’s, and says so', async () => {
    const e = trustEngine({ rollouts: [istioRollout()] });
    const res = await validateAs(e, write(50), write(20), argo);
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain("canary at 50% is not one of the Rollout's weights");
    expect(messageOf(res)).toContain(
      'setWeight 20, 40, 60, 80, full promotion 100, reset or abort 0',
    );
  });

  it('judges a write to a route the Rollout does not name, or with no Rollout at all', async () => {
    const other = fixtureObject('argo-istio/multipleVirtualsvc.yaml', 'VirtualService', {
      name: 'rollouts-demo-vsvc2',
    });
    const e = trustEngine({ rollouts: [istioRollout()] });
    // vsvc2's "secondary" route is named by the Rollout: allowed.
    const ok = await validateAs(
      e,
      argoIstioWrite(other, ['secondary'], 'rollouts-demo-canary', 20),
      other,
      argo,
    );
    expect(ok.review.response?.allowed, messageOf(ok)).toBe(true);
    const none = await validateAs(trustEngine(), write(40), write(0), argo);
    expect(none.review.response?.allowed).toBe(false);
    expect(messageOf(none)).toContain(
      'no Argo Rollout known to meshwarden names VirtualService default/rollouts-demo-vsvc1',
    );
  });

  it('gives nothing to an argo-rollouts account elsewhere, and says how to trust it', async () => {
    const e = trustEngine({ rollouts: [istioRollout()] });
    const res = await validateAs(e, write(40), write(0), sa('team-a', 'argo-rollouts'));
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain(
      'add {kind: argo-rollouts, serviceAccount: team-a/argo-rollouts}',
    );
  });
});

describe('Argo Rollouts: Istio subset split (examples/istio/istio-subset-split.yaml)', () => {
  const docs = () => fixture('argo-istio/istio-subset-split.yaml');
  const vs = () => ({
    ...structuredClone(docs().find((d) => d.kind === 'VirtualService')!),
    metadata: { name: 'istio-subset-split-vsvc', namespace: 'default' },
  });
  const rollout = () => fixtureObject('argo-istio/istio-subset-split.yaml', 'Rollout');
  const write = (w: number) => argoIstioWrite(vs(), ['primary'], 'canary', w);
  it('allows setWeight 10, the promotion, the reset; judges 0 -> 100 by another account', async () => {
    const e = trustEngine({ rollouts: [rollout()] });
    for (const [a, b] of [
      [0, 10],
      [10, 100],
      [100, 0],
    ] as const) {
      const res = await validateAs(e, write(b), write(a), argo);
      expect(res.review.response?.allowed, `${a} -> ${b}: ${messageOf(res)}`).toBe(true);
    }
    const person = await validateAs(e, write(100), write(10), { username: 'bob', groups: [] });
    expect(person.review.response?.allowed).toBe(false);
  });
});

describe('Argo Rollouts: SMI (docs/getting-started/smi)', () => {
  const rollout = () => fixtureObject('argo-smi/rollout.yaml', 'Rollout', { uid: 'ro-smi' });
  /** rollout/trafficrouting/smi/smi.go trafficSplitV1Alpha2: owned by the Rollout, root = stableService. */
  const split = (w: number): KubeObject => ({
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: {
      name: 'rollouts-demo',
      namespace: 'default',
      ownerReferences: [
        {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Rollout',
          name: 'rollouts-demo',
          uid: 'ro-smi',
          controller: true,
        },
      ],
    },
    spec: {
      service: 'rollouts-demo-stable',
      backends: [
        { service: 'rollouts-demo-canary', weight: w },
        { service: 'rollouts-demo-stable', weight: 100 - w },
      ],
    },
  });
  it('allows setWeight 5, the full promotion, the reset and an abort', async () => {
    const e = trustEngine({ rollouts: [rollout()] });
    for (const [a, b] of [
      [0, 5],
      [5, 100],
      [100, 0],
      [5, 0],
    ] as const) {
      const res = await validateAs(e, split(b), split(a), argo);
      expect(res.review.response?.allowed, `${a} -> ${b}: ${messageOf(res)}`).toBe(true);
    }
  });
  it('does not take a Rollout ownerReference from a person as Argo', async () => {
    const e = trustEngine({ rollouts: [rollout()] });
    const res = await validateAs(e, split(100), split(5), { username: 'bob', groups: [] });
    expect(res.review.response?.allowed).toBe(false);
    expect(messageOf(res)).toContain(
      'not trusted as Argo Rollouts: bob is not a trusted Argo Rollouts account',
    );
  });
});

describe('Argo Rollouts: Gateway API plugin (examples/envoygateway)', () => {
  const route = () => fixtureObject('argo-gatewayapi/httproute.yaml', 'HTTPRoute');
  const rollout = () => fixtureObject('argo-gatewayapi/rollout.yaml', 'Rollout');
  /** pkg/plugin/httproute.go setHTTPRouteWeight: canary backendRef = w, stable = 100 - w. */
  const write = (w: number) => {
    const copy = route();
    for (const ref of (
      copy.spec as { rules: { backendRefs: { name: string; weight?: number }[] }[] }
    ).rules[0]!.backendRefs)
      ref.weight = ref.name === 'argo-rollouts-canary-service' ? w : 100 - w;
    return copy;
  };
  it('allows its steps 30, 60, 100 although they step further than the policy: warning and audit', async () => {
    const e = trustEngine({ rollouts: [rollout()] });
    const first = await validateAs(e, write(30), route(), argo);
    expect(first.review.response?.allowed, messageOf(first)).toBe(true);
    for (const [a, b] of [
      [30, 60],
      [60, 100],
    ] as const) {
      const res = await validateAs(e, write(b), write(a), argo);
      expect(res.review.response?.allowed, `${a} -> ${b}: ${messageOf(res)}`).toBe(true);
      expect(warningsOf(res).join('\n')).toContain(
        'Rollout default/rollouts-demo steps further than the policy allows',
      );
      expect(auditOf(res)).toContain('steps further than the policy allows');
    }
    const reset = await validateAs(e, write(0), write(100), argo);
    expect(reset.review.response?.allowed).toBe(true);
  });
  it('the same move by a person is denied', async () => {
    const e = trustEngine({ rollouts: [rollout()] });
    const res = await validateAs(e, write(60), write(30), { username: 'bob', groups: [] });
    expect(res.review.response?.allowed).toBe(false);
  });
});

describe('Argo Rollouts: an experiment step with weighted templates', () => {
  // istio.go: the experiment's Services join the route with their weights, taken from stable.
  const vs1 = () =>
    fixtureObject('argo-istio/multipleVirtualsvc.yaml', 'VirtualService', {
      name: 'rollouts-demo-vsvc1',
    });
  const withTemplates = (canary: number, templates: number[]): KubeObject => {
    const copy = argoIstioWrite(vs1(), ['primary'], 'rollouts-demo-canary', canary);
    const primary = (copy.spec as { http: Http[] }).http.find((r) => r.name === 'primary')!;
    const stable = primary.route!.find((d) => d.destination.host === 'rollouts-demo-stable')!;
    stable.weight = 100 - canary - templates.reduce((a, b) => a + b, 0);
    templates.forEach((weight, i) =>
      primary.route!.push({ destination: { host: `rollouts-demo-experiment-${i}` }, weight }),
    );
    return copy;
  };
  it("is judged like anyone's: templates at 5 and 5 pass, at 15 and 15 they gain 30 points together", async () => {
    const e = trustEngine({ rollouts: [istioRollout()] });
    const ok = await validateAs(e, withTemplates(20, [5, 5]), withTemplates(20, []), argo);
    expect(ok.review.response?.allowed, messageOf(ok)).toBe(true);
    const wide = await validateAs(e, withTemplates(20, [15, 15]), withTemplates(20, []), argo);
    expect(wide.review.response?.allowed).toBe(false);
    expect(messageOf(wide)).toContain(
      '2 backends other than the stable one would together gain +30 points',
    );
    // The experiment's end returns its traffic to stable.
    const end = await validateAs(e, withTemplates(20, []), withTemplates(20, [5, 5]), argo);
    expect(end.review.response?.allowed, messageOf(end)).toBe(true);
  });

  /** The Rollout with an experiment step after setWeight 20: templates at `weights`. */
  const experimentRollout = (weights: number[]): KubeObject => {
    const rollout = istioRollout();
    canaryOf(rollout).steps = [
      { setWeight: 20 },
      { pause: { duration: '1m' } },
      {
        experiment: {
          duration: '5m',
          templates: weights.map((weight, i) => ({
            name: `t${i}`,
            specRef: i === 0 ? 'canary' : 'stable',
            weight,
          })),
        },
      },
      { setWeight: 40 },
    ];
    return rollout;
  };

  it('allows the experiment step its Rollout declares, even beyond the policy (it was admitted so), and says so', async () => {
    // Admitted with meshwarden.io/allow-weight-jump: Argo writes exactly these weights, and
    // refusing them would stall the Rollout at this step.
    const e = trustEngine({ rollouts: [experimentRollout([15, 15])] });
    const res = await validateAs(e, withTemplates(20, [15, 15]), withTemplates(20, []), argo);
    expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    expect(res.passed?.[0]?.reason).toContain(
      'for Rollout default/rollouts-demo: experiment steps[2] (templates 15, 15 of 100)',
    );
    // The warning is clipped to 120 characters; the audit annotation holds all of it.
    expect(warningsOf(res)[0]).toMatch(
      /^Rollout default\/rollouts-demo sends 15%, 15% to the templates of the experiment at steps\[2\]/,
    );
    expect(auditOf(res)).toContain(
      'beyond the policy (maxStepWeight 20 each, maxTotalStepWeight 20 together): change its steps',
    );
    // While the canary has no pods Argo writes it at 0 beside the templates.
    const cold = await validateAs(e, withTemplates(0, [15, 15]), withTemplates(0, []), argo);
    expect(cold.review.response?.allowed, messageOf(cold)).toBe(true);
  });

  it('says when the declared experiment holds more beside stable than maxTotalCanaryWeight', async () => {
    const e = trustEngine(
      { rollouts: [experimentRollout([15, 15])] },
      { weightShift: { maxTotalCanaryWeight: 40 } },
    );
    const res = await validateAs(e, withTemplates(20, [15, 15]), withTemplates(20, []), argo);
    expect(res.review.response?.allowed, messageOf(res)).toBe(true);
    expect(auditOf(res)).toContain(
      'Rollout default/rollouts-demo holds 50% beside the stable version at the experiment at steps[2], above maxTotalCanaryWeight 40%: change its steps',
    );
  });

  it('judges experiment writes the Rollout does not declare, and the same write by anyone else', async () => {
    const e = trustEngine({ rollouts: [experimentRollout([15, 15])] });
    const other = await validateAs(e, withTemplates(20, [25, 5]), withTemplates(20, []), argo);
    expect(other.review.response?.allowed).toBe(false);
    expect(messageOf(other)).toContain(
      "are not an experiment step's templates (Rollout default/rollouts-demo",
    );
    const canary = await validateAs(e, withTemplates(40, [15, 15]), withTemplates(20, []), argo);
    expect(canary.review.response?.allowed).toBe(false);
    const person = await validateAs(e, withTemplates(20, [15, 15]), withTemplates(20, []), {
      username: 'bob',
      groups: [],
    });
    expect(person.review.response?.allowed).toBe(false);
    expect(messageOf(person)).toContain('(maxTotalStepWeight)');
  });
});
