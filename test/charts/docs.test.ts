import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AdmissionEngine } from '../../src/admission/engine.js';
import { formatReviewText } from '../../src/cli/output.js';
import { OfflineReviewer } from '../../src/cli/review.js';
import { parsePolicyOrConfigMap } from '../../src/policy/load.js';
import { PolicyStore } from '../../src/policy/store.js';
import type { PolicySpec } from '../../src/policy/types.js';
import { defaultRules } from '../../src/rules/index.js';
import { createApp } from '../../src/server/app.js';
import { Lifecycle } from '../../src/server/lifecycle.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { makeReview } from '../helpers/reviews.js';
import { find, helmTemplate, render, requireHelm, ROOT, type KubeObject } from './helm.js';

// docs/helm.md shows real output. These tests produce it again from the chart and the engine, so
// the worked example cannot drift from what meshwarden actually says.

const doc = readFileSync(join(ROOT, 'docs/helm.md'), 'utf8');

function yamlBlocks(): string[] {
  return [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The namespace ConfigMap of the worked example, as the document shows it. */
function paymentsConfigMap(maxStepWeight?: number): KubeObject {
  const block = yamlBlocks().find((b) => b.includes('namespace: payments'));
  if (block === undefined) throw new Error('docs/helm.md has no payments ConfigMap block');
  const cm = parse(block);
  if (maxStepWeight !== undefined) {
    cm.data['policy.yaml'] = cm.data['policy.yaml'].replace(
      'maxStepWeight: 50',
      `maxStepWeight: ${maxStepWeight}`,
    );
  }
  return cm;
}

function clusterPolicy(set: string[] = []): PolicySpec {
  const cm = find(render({ set }).objects, 'ConfigMap', 'meshwarden-policy');
  const result = parsePolicyOrConfigMap(stringify(cm));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy.spec;
}

async function reviewText(policy: PolicySpec, object: KubeObject, file: string) {
  const reviewer = new OfflineReviewer({ policy });
  const { results, errors } = await reviewer.reviewAll([{ object, file, line: 1 }]);
  expect(errors).toEqual([]);
  return { text: formatReviewText(results), result: results[0]! };
}

beforeAll(() => {
  requireHelm();
});

describe('docs/helm.md worked example', () => {
  it('the example ConfigMap loosens maxStepWeight to 50 in namespace payments', () => {
    const cm = paymentsConfigMap();
    expect(cm.metadata).toEqual({ name: 'meshwarden-policy', namespace: 'payments' });
    expect(parse(cm.data['policy.yaml']).spec).toEqual({ weightShift: { maxStepWeight: 50 } });
  });

  it('shows the real `meshwarden review` output against the chart’s default policy', async () => {
    const { text, result } = await reviewText(
      clusterPolicy(),
      paymentsConfigMap(),
      'payments-policy.yaml',
    );
    expect(result.allowed).toBe(false);
    expect(text).toContain("50 is looser than the cluster's 20");
    expect(doc).toContain(text);
  });

  it('shows the real output after the values raise the cluster limit to 30', async () => {
    const { text } = await reviewText(
      clusterPolicy(['policy.weightShift.maxStepWeight=30']),
      paymentsConfigMap(),
      'payments-policy.yaml',
    );
    expect(text).toContain("50 is looser than the cluster's 30");
    expect(doc).toContain(text);
  });

  it('shows the real output for the tightening ConfigMap', async () => {
    const { text, result } = await reviewText(
      clusterPolicy(),
      paymentsConfigMap(10),
      'payments-tighter.yaml',
    );
    expect(result.allowed).toBe(true);
    expect(doc).toContain(text);
  });

  it('the admission webhook refuses the ConfigMap with the same message', async () => {
    const policy = clusterPolicy();
    const { result } = await reviewText(policy, paymentsConfigMap(), 'payments-policy.yaml');
    const lifecycle = new Lifecycle();
    lifecycle.tlsLoaded = true;
    const app = createApp({
      engine: new AdmissionEngine({
        rules: defaultRules(),
        policy: new PolicyStore(policy),
        installNamespace: 'meshwarden-system',
      }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      lifecycle,
    });
    const review = makeReview({ object: paymentsConfigMap() });
    const response = await request(app)
      .post('/validate?timeout=5s')
      .set('Content-Type', 'application/json')
      .send(review);
    expect(response.status).toBe(200);
    expect(response.body.response).toMatchObject({
      uid: review.request.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: result.message },
    });
  });

  it('shows the real helm error for an invalid policy value', () => {
    const failed = helmTemplate({ set: ['policy.weightShift.maxStepWeight=0'] });
    expect(failed.code).not.toBe(0);
    expect(doc).toContain(failed.stderr.trim());
  });

  it('shows the real `meshwarden policy check` output for the ConfigMap on its own', () => {
    const result = parsePolicyOrConfigMap(stringify(paymentsConfigMap()));
    expect(result.ok).toBe(true);
    expect(doc).toContain(
      '$ npx meshwarden policy check -f payments-policy.yaml\npayments-policy.yaml: valid MeshPolicy',
    );
  });
});

describe('docs/helm.md hardening', () => {
  function namespaceManifest(): KubeObject {
    const block = yamlBlocks().find((b) => b.includes('kind: Namespace'));
    if (block === undefined) throw new Error('docs/helm.md has no Namespace block');
    return parse(block);
  }

  async function namespaceReview(user: string, group: string) {
    const reviewer = new OfflineReviewer({
      policy: clusterPolicy(),
      user: { username: user, groups: ['system:authenticated', group] },
    });
    const { results, errors } = await reviewer.reviewAll([
      { object: namespaceManifest(), file: 'payments-namespace.yaml', line: 1 },
    ]);
    expect(errors).toEqual([]);
    return { text: formatReviewText(results), result: results[0]! };
  }

  it('shows the real denial when a tenant sets meshwarden.io/enforce, and the pass for an administrator', async () => {
    expect(namespaceManifest().metadata.labels).toEqual({ 'meshwarden.io/enforce': 'disabled' });
    const tenant = await namespaceReview('jane', 'team-payments');
    expect(tenant.result.allowed).toBe(false);
    expect(tenant.text).toContain('only members of system:masters');
    expect(doc).toContain(`--user jane --group team-payments\n${tenant.text}`);
    const admin = await namespaceReview('admin', 'system:masters');
    expect(admin.result.allowed).toBe(true);
    expect(doc).toContain(`--user admin --group system:masters\n${admin.text}`);
  });

  it('labels the release namespace restricted before the install, and the chart passes restricted', () => {
    for (const line of [
      'kubectl create namespace meshwarden-system',
      'pod-security.kubernetes.io/enforce=restricted',
      'helm install meshwarden charts/meshwarden -n meshwarden-system\n',
    ])
      expect(doc).toContain(line);
  });

  it('the kind NetworkPolicy example is the ci profile the tests render', () => {
    const block = yamlBlocks().find((b) => b.includes('networkPolicy:') && b.includes('cidrs'));
    expect(block).toBeDefined();
    const ci = parse(
      readFileSync(join(ROOT, 'charts/meshwarden/ci/network-policy-values.yaml'), 'utf8'),
    );
    expect(parse(block!).networkPolicy.webhook).toEqual(ci.networkPolicy.webhook);
    expect(
      find(render({ values: [parse(block!)] }).objects, 'NetworkPolicy').spec.ingress,
    ).toHaveLength(1);
  });
});
