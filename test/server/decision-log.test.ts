import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployment, makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

// What operators see of each review at the default level (info): denials, patches, warnings and
// audits, never a plain allow (that is at debug, as controller-runtime and Kyverno log it).

interface Line {
  level: number;
  msg: string;
  decision?: string;
  name?: string;
  audit?: string;
}

function recorder(level: string) {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n'))
        if (text.trim() !== '') lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, logger: pino({ level }, sink) };
}

const labelled = (name: string) => deployment(name, { app: name, version: 'v1' });
const marked = (name: string) =>
  deployment(name, { app: name, version: 'v1', 'sidecar.istio.io/inject': 'true' });

async function send(t: TestWebhook, path: string, object: Record<string, unknown>) {
  const res = await post(t.port, path, JSON.stringify(makeReview({ object })), {
    ca: t.bundle.caCert,
  });
  expect(res.status).toBe(200);
}

const reviewLine = (lines: Line[], name: string) =>
  lines.find((l) => l.msg === 'review' && l.name === name);

describe('the decision log at info', () => {
  const info = recorder('info');
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook({ logger: info.logger });
  });
  afterAll(() => hook.stop());

  it('leaves out plain allows and keeps denials and patches', async () => {
    await send(hook, '/validate', labelled('plain-allow'));
    await send(hook, '/mutate', marked('nothing-to-patch'));
    await send(hook, '/validate', deployment('no-labels', null));
    await send(hook, '/mutate', labelled('gets-a-marker'));
    info.logger.flush();
    expect(reviewLine(info.lines, 'plain-allow')).toBeUndefined();
    expect(reviewLine(info.lines, 'nothing-to-patch')).toBeUndefined();
    expect(reviewLine(info.lines, 'no-labels')).toMatchObject({ level: 30, decision: 'denied' });
    expect(reviewLine(info.lines, 'gets-a-marker')).toMatchObject({
      level: 30,
      decision: 'patched',
    });
  });
});

describe.each(['warn', 'audit'])('the decision log with versionLabels in %s mode', (mode) => {
  const info = recorder('info');
  let hook: TestWebhook;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwarden-log-'));
    const policyFile = join(dir, 'policy.yaml');
    await writeFile(
      policyFile,
      `apiVersion: meshwarden.io/v1alpha1\nkind: MeshPolicy\nspec:\n  versionLabels:\n    enforcement: ${mode}\n`,
    );
    hook = await startTestWebhook({ logger: info.logger, policyFile });
  });
  afterAll(async () => {
    await hook.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the allowed review at info, with what it found', async () => {
    await send(hook, '/validate', deployment('unlabelled', { app: 'unlabelled' }));
    info.logger.flush();
    const line = reviewLine(info.lines, 'unlabelled');
    expect(line).toMatchObject({ level: 30, decision: mode === 'warn' ? 'warned' : 'allowed' });
    if (mode === 'audit')
      expect(info.lines.some((l) => l.msg === 'audit' && l.name === 'unlabelled')).toBe(true);
  });
});

describe('the decision log at debug', () => {
  const debug = recorder('debug');
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook({ logger: debug.logger });
  });
  afterAll(() => hook.stop());

  it('shows every review, plain allows at debug', async () => {
    await send(hook, '/validate', labelled('plain-allow'));
    await send(hook, '/validate', deployment('no-labels', null));
    debug.logger.flush();
    expect(reviewLine(debug.lines, 'plain-allow')).toMatchObject({
      level: 20,
      decision: 'allowed',
    });
    expect(reviewLine(debug.lines, 'no-labels')).toMatchObject({ level: 30, decision: 'denied' });
  });
});
