/**
 * The weight-shift guard through the real HTTPS webhook and through `meshwarden review`: a bypass
 * refused, a rollback from 40/60 to the recorded stable backend allowed, both as the API server
 * calls the webhooks (/mutate, then /validate with the patched object).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch, type Operation } from 'rfc6902';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { contractProblems } from '../helpers/contract.js';
import { makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

type Obj = Record<string, unknown>;
const vs = (http: Obj[], annotations?: Record<string, string>): Obj => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'shop', ...(annotations ? { annotations } : {}) },
  spec: { hosts: ['reviews'], http },
});
const to = (weights: [string, number][], name?: string): Obj => ({
  ...(name ? { name } : {}),
  route: weights.map(([subset, weight]) => ({ destination: { host: 'reviews', subset }, weight })),
});
// What the cluster holds after 100/0, 80/20, 60/40, 40/60 went through meshwarden.
const STABLE = {
  'meshwarden.io/stable-backends':
    '{"reviews.shop.svc.cluster.local":"reviews.shop.svc.cluster.local#v1"}',
};
const at4060 = vs(
  [
    to([
      ['v1', 40],
      ['v2', 60],
    ]),
  ],
  STABLE,
);
const renamedOld = vs([to([['v1', 100]], 'main')]);
const renamedNew = vs([to([['v2', 100]], 'main-v2')]);

let hook: TestWebhook;
beforeAll(async () => {
  hook = await startTestWebhook();
});
afterAll(async () => {
  await hook.stop();
});

async function admit(object: Obj, oldObject: Obj) {
  const call = async (path: '/mutate' | '/validate', o: Obj) => {
    const review = makeReview({
      object: o,
      oldObject,
      user: { username: 'dev', groups: ['devs'] },
    });
    const res = await post(hook.port, path, JSON.stringify(review), { ca: hook.bundle.caCert });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body) as {
      response: { allowed: boolean; patch?: string; status?: { message?: string } };
    };
    expect(contractProblems(review, body, path === '/mutate' ? 'mutate' : 'validate')).toEqual([]);
    return body.response;
  };
  const copy = structuredClone(object);
  const mutated = await call('/mutate', copy);
  if (mutated.patch)
    applyPatch(
      copy,
      JSON.parse(Buffer.from(mutated.patch, 'base64').toString('utf8')) as Operation[],
    );
  return call('/validate', copy);
}

describe('through the HTTPS webhook', () => {
  it('refuses a renamed route that sends everything to v2', async () => {
    const r = await admit(renamedNew, renamedOld);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toContain(
      'route "main-v2" is new and sends 100% of reviews.shop.svc.cluster.local to reviews (subset v2), which had 0% (stable: reviews (subset v1))',
    );
  });
  it('allows the rollback from 40/60 to the stable v1', async () => {
    expect(
      (
        await admit(
          vs([
            to([
              ['v1', 100],
              ['v2', 0],
            ]),
          ]),
          at4060,
        )
      ).allowed,
    ).toBe(true);
  });
});

describe('through meshwarden review --old', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwarden-guard-'));
    for (const [file, o] of Object.entries({
      'old.yaml': renamedOld,
      'new.yaml': renamedNew,
      '40-60.yaml': at4060,
      'back.yaml': vs([
        to([
          ['v1', 100],
          ['v2', 0],
        ]),
      ]),
    }))
      await writeFile(join(dir, file), stringify(o));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  it('decides as the webhook does', () => {
    const denied = runCli(['review', '-f', join(dir, 'new.yaml'), '--old', join(dir, 'old.yaml')]);
    expect(denied.status, denied.stderr).toBe(1);
    expect(denied.stdout).toContain('route "main-v2" is new and sends 100%');
    const back = runCli(['review', '-f', join(dir, 'back.yaml'), '--old', join(dir, '40-60.yaml')]);
    expect(back.status, back.stdout + back.stderr).toBe(0);
  });
});
