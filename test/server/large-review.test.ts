import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutator, RuleSet } from '../../src/admission/rule.js';
import { defaultRules } from '../../src/rules/index.js';
import { ensureRecord } from '../../src/util/objects.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import {
  keepAliveAgent,
  post,
  sleep,
  startTestWebhook,
  type TestWebhook,
} from '../helpers/webhook.js';

// A 4 MB review (the largest a Deployment gets; the API server's limit is 3 MiB per object plus
// the old one) must not hold other reviews up beyond the time its own JSON takes to parse:
// small reviews keep being answered while its body arrives and around its processing. The time
// it holds the event loop is measured by `npm run bench` (head-of-line section); here we check
// ordering and completion only.

const marker: Mutator = {
  name: 'test-marker',
  kinds: [{ group: 'apps', kind: 'Deployment' }],
  operations: ['CREATE', 'UPDATE'],
  mutate(draft) {
    const template = ensureRecord(ensureRecord(draft, 'spec'), 'template');
    ensureRecord(ensureRecord(template, 'metadata'), 'labels')['sidecar.istio.io/inject'] = 'true';
  },
};
const rules: RuleSet = {
  mutators: [...defaultRules().mutators, marker],
  validators: defaultRules().validators,
};

function bigDeployment(bytes: number) {
  const object = deployment('big', { app: 'big', version: 'v1' });
  const env: { name: string; value: string }[] = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    const entry = {
      name: `SETTING_${i}`,
      value: `https://config.example.svc.cluster.local/settings/${i}/${'x'.repeat(40)}`,
    };
    env.push(entry);
    size += JSON.stringify(entry).length + 1;
  }
  (object.spec.template.spec.containers[0] as Record<string, unknown>).env = env;
  return object;
}

let hook: TestWebhook;
beforeAll(async () => {
  hook = await startTestWebhook({ rules });
});
afterAll(() => hook.stop());

describe('a 4 MB review', () => {
  it('is answered correctly while small reviews keep being answered around it', async () => {
    const big = makeReview({ object: bigDeployment(4 * 1024 * 1024) });
    const bigBody = Buffer.from(JSON.stringify(big));
    expect(bigBody.length).toBeGreaterThan(4 * 1024 * 1024);
    const small = makeReview({ object: deployment('small', { app: 'small', version: 'v1' }) });
    const smallBody = JSON.stringify(small);

    const completions: number[] = [];
    const failures: string[] = [];
    let done = false;
    const clients = Array.from({ length: 3 }, async () => {
      const agent = keepAliveAgent(hook.bundle.caCert);
      try {
        while (!done) {
          const res = await post(hook.port, '/validate', smallBody, { agent });
          if (res.status !== 200) failures.push(`HTTP ${res.status}`);
          else failures.push(...contractProblems(small, JSON.parse(res.body), 'validate'));
          completions.push(performance.now());
        }
      } finally {
        agent.destroy();
      }
    });

    const bigAgent = keepAliveAgent(hook.bundle.caCert);
    const windows: { endpoint: string; start: number; end: number }[] = [];
    try {
      await sleep(200);
      for (const endpoint of ['mutate', 'validate'] as const) {
        const start = performance.now();
        const res = await post(hook.port, `/${endpoint}`, bigBody, { agent: bigAgent });
        windows.push({ endpoint, start, end: performance.now() });
        expect(res.status).toBe(200);
        const answer = JSON.parse(res.body);
        expect(contractProblems(big, answer, endpoint)).toEqual([]);
        if (endpoint === 'mutate')
          expect(decodePatch(answer)).toEqual([
            {
              op: 'add',
              path: '/spec/template/metadata/labels/sidecar.istio.io~1inject',
              value: 'true',
            },
          ]);
        else expect(answer.response.allowed).toBe(true);
        await sleep(100);
      }
    } finally {
      done = true;
      bigAgent.destroy();
      await Promise.all(clients);
    }

    expect(failures).toEqual([]);
    for (const w of windows) {
      // Small reviews completed while the big one was in flight: its upload and its processing
      // did not stop the server from answering others.
      const during = completions.filter((t) => t > w.start && t < w.end).length;
      expect(
        during,
        `${w.endpoint}: small reviews answered while the 4 MB one was in flight`,
      ).toBeGreaterThan(0);
    }
    // And small reviews went on being answered afterwards.
    const last = windows.at(-1)!;
    expect(completions.filter((t) => t > last.end).length).toBeGreaterThan(0);
  });
});
