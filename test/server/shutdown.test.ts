import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCertificates, type CertificateBundle } from '../../src/pki/issue.js';
import { writeCertificates } from '../../src/pki/files.js';
import { ensureBuilt, repoRoot } from '../helpers/build.js';
import { contractProblems } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { get, sleep } from '../helpers/webhook.js';

// SIGTERM to the real `meshwarden serve` process while keep-alive clients send continuously
// over HTTPS. Readiness turns 503, requests go on being served through the drain window (each
// answer closing its connection), then the process exits 0. A request is lost if it went out on
// an established connection and got no answer; connections refused once the listener has
// closed were never accepted (in a cluster the endpoint is gone by then).

const DRAIN_SECONDS = 2;
/** Kubernetes' default terminationGracePeriodSeconds is 30; the process must be gone well before. */
const GRACE_MS = (DRAIN_SECONDS + 8) * 1000;

let dir: string;
let bundle: CertificateBundle;
let child: ChildProcess;
let port: number;
let output = '';
let exited: Promise<{ code: number | null; at: number }>;

beforeAll(async () => {
  const main = await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-shutdown-'));
  bundle = await generateCertificates();
  const paths = await writeCertificates(dir, bundle);
  child = spawn(
    process.execPath,
    [
      main,
      'serve',
      '--port',
      '0',
      '--cert',
      paths.cert,
      '--key',
      paths.key,
      '--drain-seconds',
      String(DRAIN_SECONDS),
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  exited = new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code, at: performance.now() })),
  );
  port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at https:\/\/localhost:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}, 180_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

type Outcome =
  | { kind: 'answered'; at: number; status: number; body: string; close: boolean }
  | { kind: 'refused'; at: number; error: string }
  | { kind: 'lost'; at: number; error: string };

function send(agent: Agent, body: string): Promise<Outcome> {
  return new Promise((resolve) => {
    let established = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate?timeout=10s',
        method: 'POST',
        agent,
        ca: bundle.caCert,
        servername: 'meshwarden.meshwarden-system.svc',
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            kind: 'answered',
            at: performance.now(),
            status: res.statusCode ?? 0,
            body: text,
            close: res.headers.connection === 'close',
          }),
        );
      },
    );
    req.on('socket', (socket) => {
      if (req.reusedSocket) established = true;
      else (socket as TLSSocket).once('secureConnect', () => (established = true));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      const at = performance.now();
      resolve(
        established
          ? { kind: 'lost', at, error: `${error.code ?? ''} ${error.message}` }
          : { kind: 'refused', at, error: `${error.code ?? ''} ${error.message}` },
      );
    });
    req.end(body);
  });
}

describe('graceful shutdown of the real process', () => {
  it('loses no request on SIGTERM under keep-alive load and exits 0 within the grace period', async () => {
    const review = makeReview({ object: deployment('web', { app: 'web', version: 'v1' }) });
    const body = JSON.stringify(review);
    const outcomes: Outcome[] = [];
    let sigtermAt = Number.POSITIVE_INFINITY;
    const clients = Array.from({ length: 4 }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (;;) {
          const outcome = await send(agent, body);
          outcomes.push(outcome);
          // The listener is closed: this client, like the API server, goes elsewhere.
          if (outcome.kind === 'refused' && outcome.at > sigtermAt) break;
          if (performance.now() - sigtermAt > GRACE_MS) break;
        }
      } finally {
        agent.destroy();
      }
    });

    // Load first: SIGTERM once the clients have had answers (a count, not a fixed time, so a
    // loaded machine only makes this wait longer).
    const warm = performance.now();
    while (
      outcomes.filter((o) => o.kind === 'answered').length <= 20 &&
      performance.now() - warm < 20_000
    )
      await sleep(50);
    expect((await get(port, '/readyz', bundle.caCert)).status).toBe(200);
    sigtermAt = performance.now();
    child.kill('SIGTERM');
    await sleep(300);
    const readyz = await get(port, '/readyz', bundle.caCert);
    expect(readyz).toEqual({ status: 503, body: 'draining' });
    const drainSeenAt = performance.now();

    const { code, at } = await exited;
    await Promise.all(clients);

    expect(code).toBe(0);
    expect(at - sigtermAt).toBeLessThan(GRACE_MS);
    expect(at - sigtermAt).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000 - 50);
    const lost = outcomes.filter((o) => o.kind === 'lost');
    expect(lost).toEqual([]);
    const answered = outcomes.filter(
      (o): o is Extract<Outcome, { kind: 'answered' }> => o.kind === 'answered',
    );
    for (const a of answered) {
      expect(a.status).toBe(200);
      expect(contractProblems(review, JSON.parse(a.body), 'validate')).toEqual([]);
    }
    // Served through the drain window, each answer then closing its connection (once the
    // signal has been handled, which /readyz answering 503 proves).
    const duringDrain = answered.filter((a) => a.at > drainSeenAt);
    expect(duringDrain.length).toBeGreaterThan(20);
    expect(duringDrain.filter((a) => !a.close)).toEqual([]);
    expect(answered.filter((a) => a.at < sigtermAt).length).toBeGreaterThan(20);
    // Refusals only once the listener had closed, after the drain window.
    for (const r of outcomes.filter((o) => o.kind === 'refused'))
      expect(r.at - sigtermAt).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000 - 50);
    expect(output).toContain('drained; no request in flight');
  }, 60_000);
});
