import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { clipLogFields, MAX_LOGGED_STRING } from '../../src/observability/log-fields.js';
import { DEFAULT_WORK_LIMITS } from '../../src/server/limits.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

// Work per object is bounded before the rules run, for small bodies (on the event loop) and
// large ones (screened in a worker); logs stay bounded whatever a review carries.

let running: TestWebhook | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function trafficSplit(backends: number) {
  return {
    apiVersion: 'split.smi-spec.io/v1alpha2',
    kind: 'TrafficSplit',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      service: 'web',
      backends: Array.from({ length: backends }, (_, i) => ({ service: `web-v${i}`, weight: 1 })),
    },
  };
}

async function review(t: TestWebhook, path: string, object: Record<string, unknown>) {
  const res = await post(t.port, path, JSON.stringify(makeReview({ object })), {
    ca: t.bundle.caCert,
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as { response: { allowed: boolean; status?: { message: string } } };
}

describe('work per object', () => {
  it('denies a TrafficSplit over the backend limit, small or large body, on both endpoints', async () => {
    running = await startTestWebhook();
    const over = DEFAULT_WORK_LIMITS.maxBackends + 1;
    // ~35 bytes a backend: the first is under the screening threshold, the second far over it.
    for (const count of [over, 20 * over]) {
      for (const path of ['/validate', '/mutate']) {
        const answer = await review(running, path, trafficSplit(count));
        expect(answer.response.allowed).toBe(false);
        expect(answer.response.status?.message).toContain(
          `more than ${DEFAULT_WORK_LIMITS.maxBackends} weighted backends`,
        );
      }
    }
  });

  it('denies a large TrafficSplit whose weight keys are spelt with escapes', async () => {
    running = await startTestWebhook();
    const over = DEFAULT_WORK_LIMITS.maxBackends + 1;
    // Large enough for the screening, and no plain "weight" key for a quick look to count.
    const text = JSON.stringify(makeReview({ object: trafficSplit(20 * over) })).replaceAll(
      '"weight":',
      '"\\u0077eight":',
    );
    expect(text).not.toContain('"weight"');
    const res = await post(running.port, '/validate', text, { ca: running.bundle.caCert });
    expect(res.status).toBe(200);
    const answer = JSON.parse(res.body) as {
      response: { allowed: boolean; status?: { message: string } };
    };
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toContain(
      `more than ${DEFAULT_WORK_LIMITS.maxBackends} weighted backends`,
    );
  });

  it('still judges a TrafficSplit within the limit', async () => {
    running = await startTestWebhook();
    const answer = await review(running, '/validate', trafficSplit(3));
    expect(answer.response.status?.message ?? '').not.toContain('weighted backends');
  });

  it('judges a Deployment by its rules whatever its affinity weights, small or large body', async () => {
    running = await startTestWebhook();
    // Scheduling preferences carry `weight` too; they are not backends of any route.
    const terms = (count: number) =>
      Array.from({ length: count }, (_, i) => ({
        weight: 1 + (i % 100),
        preference: { matchExpressions: [{ key: `zone-${i}`, operator: 'Exists' }] },
      }));
    for (const count of [
      DEFAULT_WORK_LIMITS.maxBackends + 1,
      5 * DEFAULT_WORK_LIMITS.maxBackends,
    ]) {
      const object = deployment('web', { app: 'web', version: 'v1' });
      const spec = object.spec as { template: { spec: Record<string, unknown> } };
      spec.template.spec.affinity = {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: terms(count) },
      };
      const answer = await review(running, '/validate', object);
      expect(answer.response.status?.message ?? '').not.toContain('weighted backends');
      expect(answer.response.allowed).toBe(true);
    }
  });

  it('allows a large object of a kind no rule reads from the screening alone', async () => {
    running = await startTestWebhook();
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default' },
      data: { big: 'x'.repeat(1024 * 1024) },
    };
    const answer = await review(running, '/validate', secret);
    expect(answer.response.allowed).toBe(true);
  });

  it('answers a large Deployment after screening with the full review', async () => {
    running = await startTestWebhook();
    const big = deployment('web', { app: 'web' });
    (big.metadata as Record<string, unknown>).annotations = { pad: 'p'.repeat(1024 * 1024) };
    const answer = await review(running, '/mutate', big);
    expect(answer.response.allowed).toBe(true);
  });
});

describe('bounded logs', () => {
  it('cuts request fields in the review log line', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    running = await startTestWebhook({ logger: pino({ level: 'info' }, sink) });
    const huge = 'n'.repeat(200_000);
    const body = makeReview({ object: deployment(huge, { app: 'web' }), namespace: huge });
    body.request.userInfo = { username: huge, groups: [] };
    const res = await post(running.port, '/validate', JSON.stringify(body), {
      ca: running.bundle.caCert,
    });
    expect(res.status).toBe(200);
    const reviewLines = lines.filter((l) => l.includes('"msg":"review"'));
    expect(reviewLines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.length).toBeLessThan(8 * MAX_LOGGED_STRING);
  });

  it('clips every string, nested ones included', () => {
    const clipped = clipLogFields({ a: 'x'.repeat(10_000), b: { c: ['y'.repeat(10_000)] } });
    expect(JSON.stringify(clipped).length).toBeLessThan(4 * MAX_LOGGED_STRING);
  });
});
