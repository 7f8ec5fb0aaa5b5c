import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch, type Operation } from 'rfc6902';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { staticClusterView } from '../../src/admission/cluster-view.js';
import { readManifests } from '../../src/cli/manifests.js';
import { contextFacts, indexContext } from '../../src/cli/context.js';
import type { KubeObject } from '../../src/k8s/objects.js';
import { runCli } from '../helpers/cli.js';
import { fixture, fixtureObject } from '../helpers/controllers.js';
import { makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

let dir: string;
let webhook: TestWebhook;

const route = () => fixtureObject('argo-gatewayapi/httproute.yaml', 'HTTPRoute');
const routeAt = (w: number) => {
  const copy = route();
  for (const ref of (copy.spec as { rules: { backendRefs: { name: string; weight?: number }[] }[] })
    .rules[0]!.backendRefs)
    ref.weight = ref.name === 'argo-rollouts-canary-service' ? w : 100 - w;
  return copy;
};
const flaggerSplit = (primary: number, uid: string): KubeObject => ({
  apiVersion: 'split.smi-spec.io/v1alpha2',
  kind: 'TrafficSplit',
  metadata: {
    name: 'podinfo',
    namespace: 'test',
    ownerReferences: [
      { apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'podinfo', uid, controller: true },
    ],
  },
  spec: {
    service: 'podinfo',
    backends: [
      { service: 'podinfo-canary', weight: 100 - primary },
      { service: 'podinfo-primary', weight: primary },
    ],
  },
});

/** What a cluster holds: the Rollout and Services of the envoygateway example, a Canary, a Namespace. */
const context = (): KubeObject[] => [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'test', labels: { team: 'shop' } } },
  ...fixture('argo-gatewayapi/stable.yaml'),
  ...fixture('argo-gatewayapi/canary.yaml'),
  fixtureObject('argo-gatewayapi/rollout.yaml', 'Rollout'),
  fixtureObject('flagger/linkerd-canary-steps.yaml', 'Canary', { uid: 'c-1' }),
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-context-'));
  await writeFile(
    join(dir, 'context.yaml'),
    context()
      .map((o) => stringify(o))
      .join('---\n'),
  );
  const read = await readManifests([join(dir, 'context.yaml')]);
  expect(read.errors).toEqual([]);
  // The same facts `review` builds from --context, as the webhook's caches would hold them.
  const facts = contextFacts(indexContext(read.objects), undefined);
  webhook = await startTestWebhook({ cluster: staticClusterView(facts) });
});
afterAll(async () => {
  await webhook?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Case {
  name: string;
  object: KubeObject;
  old: KubeObject;
  user: string;
  allowed: boolean;
  says: string;
}
const CASES: Case[] = [
  {
    name: 'Argo Rollouts, its own step beyond the policy',
    object: routeAt(60),
    old: routeAt(30),
    user: 'system:serviceaccount:argo-rollouts:argo-rollouts',
    allowed: true,
    says: 'setWeight 60 (steps[2])',
  },
  {
    name: 'the same move by a person',
    object: routeAt(60),
    old: routeAt(30),
    user: 'jane@example.com',
    allowed: false,
    says: 'would rise from 30% to 60%',
  },
  {
    name: 'Flagger with its verified Canary',
    object: flaggerSplit(90, 'c-1'),
    old: flaggerSplit(95, 'c-1'),
    user: 'system:serviceaccount:flagger-system:flagger',
    allowed: true,
    says: '',
  },
  {
    name: 'Flagger rollback',
    object: flaggerSplit(100, 'c-1'),
    old: flaggerSplit(45, 'c-1'),
    user: 'system:serviceaccount:flagger-system:flagger',
    allowed: true,
    says: 'all traffic to podinfo-primary',
  },
  {
    name: 'a forged Canary uid',
    object: flaggerSplit(50, 'forged'),
    old: flaggerSplit(100, 'forged'),
    user: 'system:serviceaccount:flagger-system:flagger',
    allowed: false,
    says: "has uid forged, but that Canary's uid is c-1",
  },
];

/** The webhook as the API server calls it: /mutate, the patch applied, then /validate. */
async function throughWebhook(c: Case) {
  const user = { username: c.user, groups: ['system:authenticated'] };
  const mutate = JSON.parse(
    (
      await post(
        webhook.port,
        '/mutate',
        JSON.stringify(makeReview({ object: c.object, oldObject: c.old, user })),
        { ca: webhook.bundle.caCert },
      )
    ).body,
  );
  const mutated = structuredClone(c.object);
  if (mutate.response.patch)
    applyPatch(
      mutated,
      JSON.parse(Buffer.from(mutate.response.patch, 'base64').toString()) as Operation[],
    );
  const validate = JSON.parse(
    (
      await post(
        webhook.port,
        '/validate',
        JSON.stringify(makeReview({ object: mutated, oldObject: c.old, user })),
        { ca: webhook.bundle.caCert },
      )
    ).body,
  );
  return validate.response as {
    allowed: boolean;
    status?: { message: string };
    auditAnnotations?: Record<string, string>;
  };
}

/** `review` of one case's old/new pair with the shared --context, as `c.user`. */
function reviewCase(c: (typeof CASES)[number], ...extra: string[]) {
  const slug = c.name.replace(/\W+/g, '-');
  return runCli([
    'review',
    '-f',
    join(dir, `${slug}-new.yaml`),
    '--old',
    join(dir, `${slug}-old.yaml`),
    '--context',
    join(dir, 'context.yaml'),
    ...extra,
    '--user',
    c.user,
  ]);
}

describe('review --context decides exactly as the webhook does', () => {
  it.each(CASES)('$name', async (c) => {
    const slug = c.name.replace(/\W+/g, '-');
    await writeFile(join(dir, `${slug}-new.yaml`), stringify(c.object));
    await writeFile(join(dir, `${slug}-old.yaml`), stringify(c.old));
    const cli = reviewCase(c, '-o', 'json');
    expect(cli.stderr).toBe('');
    const [result] = JSON.parse(cli.stdout);
    const response = await throughWebhook(c);
    expect(result.allowed).toBe(c.allowed);
    expect(response.allowed).toBe(c.allowed);
    expect(result.message).toBe(response.status?.message ?? null);
    if (c.says !== '')
      expect(`${result.message ?? ''} ${JSON.stringify(result.passed)}`).toContain(c.says);
    // Every pass reason review shows is the one the webhook records.
    for (const p of result.passed)
      expect(response.auditAnnotations?.[p.rule]).toContain(`passed: ${p.reason}`);
    expect(cli.status).toBe(c.allowed ? 0 : 1);
  });

  it('prints why something passed in text output', () => {
    const cli = reviewCase(CASES[0]!);
    expect(cli.stdout).toContain(
      '  passed: trusted controller argo-rollouts argo-rollouts/argo-rollouts for Rollout default/rollouts-demo: setWeight 60 (steps[2])',
    );
  });

  it('reviews only -f: a Canary beyond the policy in --context is known, not judged', async () => {
    const bad = fixtureObject('flagger/istio-canary.yaml', 'Canary');
    (bad.spec as { analysis: Record<string, unknown> }).analysis.stepWeight = 50;
    await writeFile(join(dir, 'bad-context.yaml'), stringify(bad));
    const cli = reviewCase(CASES[0]!, join(dir, 'bad-context.yaml'), '-o', 'json');
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout).map((r: { kind: string }) => r.kind)).toEqual(['HTTPRoute']);
    // The same Canary given with -f is refused with the fix.
    const direct = runCli(['review', '-f', join(dir, 'bad-context.yaml')]);
    expect(direct.status).toBe(1);
    expect(direct.stdout).toContain('use stepWeights: [20, 40, 50]');
  });

  it('--controller-service-account must be namespace/name', () => {
    const cli = runCli([
      'review',
      '-f',
      join(dir, 'context.yaml'),
      '--controller-service-account',
      'meshwarden',
    ]);
    expect(cli.status).toBe(2);
    expect(cli.stderr).toContain(
      '--controller-service-account takes namespace/name of a ServiceAccount; got "meshwarden"',
    );
  });
});
