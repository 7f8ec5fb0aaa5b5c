import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleSet, Validator } from '../../src/admission/rule.js';
import { contractProblems } from '../helpers/contract.js';
import { makeReview } from '../helpers/reviews.js';
import {
  keepAliveAgent,
  post,
  sleep,
  startTestWebhook,
  type TestWebhook,
} from '../helpers/webhook.js';

// Reviews keep flowing while the policy file is rewritten again and again. Every review must be
// judged by one whole policy, the old or the new: never a mix, never a policy cut short by a
// half-written file (the first half of a policy can be valid YAML, the rest left at defaults).

/** Reports, as a warning, the policy values it was judged by. */
const probe: Validator = {
  name: 'policy-probe',
  kinds: [{ group: 'test.meshwarden.io', kind: 'Probe' }],
  operations: ['CREATE'],
  validate(_object, ctx) {
    const p = ctx.policy;
    const seen = `${p.fallbackMesh}/${p.weightShift.maxStepWeight}/${p.versionLabels.enforcement}/${p.sidecarInjection.enabled}`;
    return {
      violations: [{ rule: 'policy-probe', field: '', enforcement: 'warn', message: seen }],
    };
  },
};
const rules: RuleSet = { mutators: [], validators: [probe] };

// Each first half (up to the weightShift block) is a valid policy on its own.
const policyA = `apiVersion: meshwarden.io/v1alpha1
kind: MeshPolicy
spec:
  fallbackMesh: consul
  weightShift:
    maxStepWeight: 30
  versionLabels:
    enforcement: audit
  sidecarInjection:
    enabled: false
`;
const policyB = policyA
  .replace('consul', 'linkerd')
  .replace('maxStepWeight: 30', 'maxStepWeight: 5')
  .replace('audit', 'warn')
  .replace('enabled: false', 'enabled: true');
const A = 'consul/30/audit/false';
const B = 'linkerd/5/warn/true';

let hook: TestWebhook;
let dir: string;
let file: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-policy-'));
  file = join(dir, 'policy.yaml');
  await writeFile(file, policyA);
  hook = await startTestWebhook({ rules, policyFile: file, policyPollMs: 25 });
});
afterAll(async () => {
  await hook.stop();
  await rm(dir, { recursive: true, force: true });
});

async function load(stop: () => boolean, seen: Map<string, number>[], problems: string[]) {
  const agent = keepAliveAgent(hook.bundle.caCert);
  try {
    while (!stop()) {
      const review = makeReview({
        object: { apiVersion: 'test.meshwarden.io/v1', kind: 'Probe', metadata: { name: 'p' } },
      });
      const res = await post(hook.port, '/validate', JSON.stringify(review), { agent });
      if (res.status !== 200) problems.push(`HTTP ${res.status}`);
      const body = JSON.parse(res.body);
      problems.push(...contractProblems(review, body, 'validate'));
      const warning: string = body.response?.warnings?.[0] ?? 'none';
      for (const m of seen) m.set(warning, (m.get(warning) ?? 0) + 1);
    }
  } finally {
    agent.destroy();
  }
}

describe('policy reload under load', () => {
  it('judges every review by one whole policy while the file is replaced and rewritten in place', async () => {
    const seen = new Map<string, number>();
    const recent = new Map<string, number>();
    const problems: string[] = [];
    let done = false;
    const clients = Array.from({ length: 4 }, () => load(() => done, [seen, recent], problems));
    const until = async (signature: string) => {
      recent.clear();
      for (let i = 0; i < 400 && !recent.get(signature); i++) await sleep(25);
      expect(recent.get(signature), `never saw ${signature}`).toBeGreaterThan(0);
    };
    try {
      for (let round = 0; round < 3; round++) {
        // Atomic replacement (a rename, as a ConfigMap volume swaps its link).
        await writeFile(`${file}.tmp`, policyB);
        await rename(`${file}.tmp`, file);
        await until(B);
        // In-place rewrite in two writes with a pause between them, as an editor or `cp` does.
        const cut = policyA.indexOf('  versionLabels');
        const handle = await open(file, 'w');
        await handle.write(policyA.slice(0, cut));
        await handle.sync();
        await sleep(60);
        await handle.write(policyA.slice(cut));
        await handle.close();
        await until(A);
      }
    } finally {
      done = true;
      await Promise.all(clients);
    }
    expect(problems).toEqual([]);
    expect([...seen.keys()].sort(), JSON.stringify([...seen])).toEqual([A, B]);
    expect(seen.get(A)! + seen.get(B)!).toBeGreaterThan(100);
  });

  it('switched policies during the run (the reloads happened under load)', async () => {
    const review = makeReview({
      object: { apiVersion: 'test.meshwarden.io/v1', kind: 'Probe', metadata: { name: 'p' } },
    });
    const res = await post(hook.port, '/validate', JSON.stringify(review), {
      ca: hook.bundle.caCert,
    });
    expect(JSON.parse(res.body).response.warnings).toEqual([A]);
    expect(
      (
        await hook.webhook.metrics.registry
          .getSingleMetric('meshwarden_policy_reloads_total')
          ?.get()
      )?.values.reduce((n, v) => n + v.value, 0),
    ).toBeGreaterThanOrEqual(7);
    expect(
      (
        await hook.webhook.metrics.registry
          .getSingleMetric('meshwarden_policy_reload_errors_total')
          ?.get()
      )?.values.length ?? 0,
    ).toBe(0);
  });
});
