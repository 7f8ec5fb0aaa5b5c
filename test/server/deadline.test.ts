import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mutator, RuleSet, Validator } from '../../src/admission/rule.js';
import { contractProblems, decodePatch } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

// A rule waiting on something slow (a cache that never fills, an outage) must not make the API
// server wait past the `?timeout=` it sent: the answer comes first, per the failure policy.

const kinds = [{ group: 'apps', kind: 'Deployment' }];
const forever = () => new Promise<never>(() => {});
const stalls: { name: string; ms: number } = { name: 'web', ms: 0 };
const wait = async (name: unknown) => {
  if (name === stalls.name) await new Promise((r) => setTimeout(r, stalls.ms));
};

const slowValidator: Validator = {
  name: 'slow-validator',
  kinds,
  operations: ['CREATE', 'UPDATE'],
  async validate(object) {
    if (object.metadata?.name === 'stuck') await forever();
    await wait(object.metadata?.name);
    return { violations: [] };
  },
};
const slowMutator: Mutator = {
  name: 'slow-mutator',
  kinds,
  operations: ['CREATE', 'UPDATE'],
  async mutate(draft) {
    draft.metadata = { ...draft.metadata, labels: { marked: 'yes' } };
    if (draft.metadata.name === 'stuck') await forever();
    await wait(draft.metadata.name);
  },
};
const rules: RuleSet = { mutators: [slowMutator], validators: [slowValidator] };

let strict: TestWebhook;
let lenient: TestWebhook;

beforeAll(async () => {
  // Defaults mirror the webhooks' failurePolicy: mutating Ignore, validating Fail.
  strict = await startTestWebhook({ rules });
  lenient = await startTestWebhook({ rules, onTimeout: { mutate: 'allow', validate: 'allow' } });
});
afterAll(async () => {
  await strict.stop();
  await lenient.stop();
});

async function call(
  hook: TestWebhook,
  endpoint: 'mutate' | 'validate',
  name: string,
  timeout: string,
) {
  const review = makeReview({ object: deployment(name, { app: name, version: 'v1' }) });
  const started = performance.now();
  const res = await post(hook.port, `/${endpoint}?timeout=${timeout}`, JSON.stringify(review), {
    ca: hook.bundle.caCert,
  });
  const elapsedMs = performance.now() - started;
  expect(res.status).toBe(200);
  const body = JSON.parse(res.body);
  expect(contractProblems(review, body, endpoint)).toEqual([]);
  return { body, elapsedMs, response: body.response };
}

describe('the ?timeout= deadline', () => {
  it('denies on /validate before a 1 s deadline when a rule never finishes (failurePolicy Fail)', async () => {
    const { response, elapsedMs } = await call(strict, 'validate', 'stuck', '1s');
    expect(elapsedMs).toBeLessThan(1000);
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(response.status.message).toMatch(/could not finish its checks before the deadline/);
  });

  it('allows unpatched on /mutate with a warning before the deadline (failurePolicy Ignore)', async () => {
    const { body, response, elapsedMs } = await call(strict, 'mutate', 'stuck', '1s');
    expect(elapsedMs).toBeLessThan(1000);
    expect(response.allowed).toBe(true);
    expect(decodePatch(body)).toEqual([]);
    expect(response.warnings?.[0]).toMatch(/allowed unchecked/);
  });

  it('follows a configured failure policy: allow on /validate too', async () => {
    const { response, elapsedMs } = await call(lenient, 'validate', 'stuck', '2s');
    expect(elapsedMs).toBeLessThan(2000);
    expect(response.allowed).toBe(true);
    expect(response.warnings?.[0]).toMatch(/allowed unchecked/);
  });

  it('honours deadlines written in milliseconds', async () => {
    const { response, elapsedMs } = await call(strict, 'validate', 'stuck', '600ms');
    expect(elapsedMs).toBeLessThan(600);
    expect(response.allowed).toBe(false);
  });

  it('gives the real answer when a slow rule finishes inside the budget', async () => {
    stalls.ms = 150;
    const mutated = await call(strict, 'mutate', 'web', '5s');
    expect(mutated.response.allowed).toBe(true);
    expect(decodePatch(mutated.body)).toEqual([
      { op: 'add', path: '/metadata/labels', value: { marked: 'yes' } },
    ]);
    const validated = await call(strict, 'validate', 'web', '5s');
    expect(validated.response.allowed).toBe(true);
    expect(validated.response.warnings).toBeUndefined();
  });

  it('keeps serving other reviews while one waits out its deadline', async () => {
    const stuck = call(strict, 'validate', 'stuck', '3s');
    stalls.ms = 0;
    const quick = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(strict, 'validate', `quick-${i}`, '3s')),
    );
    for (const q of quick) expect(q.response.allowed).toBe(true);
    expect((await stuck).response.allowed).toBe(false);
  });
});
