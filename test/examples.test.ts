import { readFileSync } from 'node:fs';
import request from 'supertest';
import { applyPatch, type Operation } from 'rfc6902';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { defaultWebhookApp } from './helpers/app.js';
import { contractProblems } from './helpers/contract.js';
import { makeReview } from './helpers/reviews.js';

/** The walkthrough of the README, step by step, as `meshwarden review --old` runs it. */
const WALK = [
  { old: '100-0', next: '50-50', allowed: false },
  { old: '100-0', next: '80-20', allowed: true },
  { old: '80-20', next: '60-40', allowed: true },
  { old: '60-40', next: '100-0', allowed: true }, // rollback
  { old: '60-40', next: '40-60', allowed: true },
  { old: '40-60', next: '100-0', allowed: true }, // rollback to the recorded stable v1
  { old: '40-60', next: '20-80', allowed: true },
  { old: '20-80', next: '0-100', allowed: true },
];

describe.each([
  ['canary-gloo', (w: string) => `examples/canary-gloo/vs-${w}.yaml`],
  ['canary-smi', (w: string) => `examples/canary-smi/split-${w}.yaml`],
])('examples/%s through meshwarden review', (_name, path) => {
  it.each(WALK)('$old -> $next: allowed $allowed', ({ old, next, allowed }) => {
    const result = runCli(['review', '-f', path(next), '--old', path(old)]);
    expect(result.status, result.stdout + result.stderr).toBe(allowed ? 0 : 1);
    if (!allowed)
      expect(result.stdout).toMatch(
        /echo.*v2.* would rise from 0% to 50% \(\+50 points\); the policy allows \+20 per update: step through 20%, 40%, 50%/,
      );
  });
});

describe('examples through the HTTP webhook', () => {
  const { app } = defaultWebhookApp();
  const load = (p: string) => parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

  it.each(WALK)(
    'Gloo VirtualService $old -> $next: allowed $allowed',
    async ({ old, next, allowed }) => {
      const post = async (path: string, object: Record<string, unknown>) => {
        const review = makeReview({
          object,
          oldObject: load(`examples/canary-gloo/vs-${old}.yaml`),
        });
        const res = await request(app)
          .post(path)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(review));
        expect(res.status).toBe(200);
        expect(
          contractProblems(review, res.body, path === '/mutate' ? 'mutate' : 'validate'),
        ).toEqual([]);
        return res.body as { response: { allowed: boolean; patch?: string } };
      };
      // As the API server calls them: /mutate, then /validate with the patched object.
      const object = load(`examples/canary-gloo/vs-${next}.yaml`);
      const mutated = await post('/mutate', object);
      const patch = mutated.response.patch;
      if (patch !== undefined)
        applyPatch(
          object,
          JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[],
        );
      const res = { body: await post('/validate', object) };
      expect(res.body.response.allowed).toBe(allowed);
    },
  );
});

describe('examples/canary-smi through meshwarden translate', () => {
  it.each(['istio', 'linkerd', 'kuma', 'gateway-api', 'consul', 'appmesh', 'gloo', 'osm'])(
    'gives native objects for --mesh %s',
    (mesh) => {
      const result = runCli([
        'translate',
        '-f',
        'examples/canary-smi/split-80-20.yaml',
        'examples/canary-smi/services.yaml',
        '--mesh',
        mesh,
        '-o',
        'json',
      ]);
      expect(result.status, result.stderr).toBe(0);
      type Out = { kind: string; items?: Out[]; metadata: { labels: Record<string, string> } };
      // One object is printed as itself, several as a List.
      const parsed = JSON.parse(result.stdout) as Out;
      const objects = parsed.kind === 'List' ? (parsed.items ?? []) : [parsed];
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects)
        expect(o.metadata.labels['app.kubernetes.io/managed-by']).toBe('meshwarden');
    },
  );
});
