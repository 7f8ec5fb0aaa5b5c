import { connect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServeOptions } from '../../src/app/serve.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../../src/server/limits.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { post, sleep, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

// Hostile callers against the real HTTPS server on 127.0.0.1: stalled and slow bodies, slow
// headers, floods of connections and reviews. Every test is bounded in count and time.

let running: TestWebhook | undefined;
const sockets: TLSSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.stop();
  running = undefined;
});

async function start(
  limits: Partial<ServerLimits>,
  options: Partial<ServeOptions> = {},
): Promise<TestWebhook> {
  running = await startTestWebhook({ limits: { ...DEFAULT_LIMITS, ...limits }, ...options });
  return running;
}

/** A TLS connection to the server, once the handshake is done. */
function open(t: TestWebhook): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port: t.port,
        ca: t.bundle.caCert,
        servername: 'meshwarden.meshwarden-system.svc',
      },
      () => resolve(socket),
    );
    sockets.push(socket);
    socket.on('error', reject);
  });
}

/** Resolves with what the server wrote once it closes the connection (or after `ms`). */
function closed(socket: TLSSocket, ms: number): Promise<{ closed: boolean; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
    socket.on('error', () => {});
    const timer = setTimeout(() => resolve({ closed: false, data }), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, data });
    });
  });
}

/** Sends a review's headers and only part of its body. */
function stall(socket: TLSSocket, declared: number, sent = 10): void {
  socket.write(
    `POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  socket.write('{'.padEnd(sent, ' '));
}

const smallReview = () => JSON.stringify(makeReview({ object: deployment('web', { app: 'web' }) }));

describe('budgets per caller', () => {
  it('answers 429 with Retry-After and a Status body past the reviews in flight', async () => {
    const t = await start({ maxReviewsInFlight: 2 });
    for (let i = 0; i < 2; i++) stall(await open(t), 1000);
    await sleep(200);
    const res = await post(t.port, '/validate', smallReview(), { ca: t.bundle.caCert });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(JSON.parse(res.body)).toMatchObject({
      kind: 'Status',
      code: 429,
      reason: 'TooManyRequests',
    });
    for (const s of sockets.splice(0)) s.destroy();
    await sleep(200);
    // The budget comes back once the stalled callers are gone.
    const after = await post(t.port, '/validate', smallReview(), { ca: t.bundle.caCert });
    expect(after.status).toBe(200);
  });

  it('answers 429 past the buffered-bytes budget, declared or streamed', async () => {
    const t = await start({ maxBufferedBytes: 1024 * 1024 });
    stall(await open(t), 900 * 1024);
    await sleep(200);
    const declared = await post(t.port, '/validate', Buffer.alloc(200 * 1024, 0x20), {
      ca: t.bundle.caCert,
    });
    expect(declared.status).toBe(429);
    // Chunked, no Content-Length: refused once what arrived passes the budget.
    const socket = await open(t);
    const answer = closed(socket, 15_000);
    socket.write(
      'POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
    );
    const chunk = 'a'.repeat(64 * 1024);
    for (let i = 0; i < 4; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    socket.write('0\r\n\r\n');
    expect((await answer).data).toMatch(/^HTTP\/1\.1 429/);
    expect(t.webhook.lifecycle.inFlight).toBe(1);
  });

  it('cuts a stalled body at the request timeout and gives its budget back', async () => {
    const t = await start({ requestTimeoutMs: 1000, headersTimeoutMs: 500 });
    const socket = await open(t);
    const end = closed(socket, 20_000);
    stall(socket, 6 * 1024 * 1024);
    const result = await end;
    expect(result.closed).toBe(true);
    await sleep(100);
    expect(t.webhook.lifecycle.inFlight).toBe(0);
  });

  it('drops a connection whose headers never finish', async () => {
    const t = await start({ requestTimeoutMs: 2000, headersTimeoutMs: 500 });
    const socket = await open(t);
    const end = closed(socket, 20_000);
    socket.write('POST /validate HTTP/1.1\r\nHost: x\r\nContent-Ty');
    expect((await end).closed).toBe(true);
  });

  it('drops a connection that never sends a request', async () => {
    const t = await start({ requestTimeoutMs: 2000, headersTimeoutMs: 500 });
    const socket = await open(t);
    expect((await closed(socket, 20_000)).closed).toBe(true);
  });

  it('keeps no more connections than the cap', async () => {
    const t = await start({ maxConnections: 3 });
    for (let i = 0; i < 3; i++) await open(t);
    const extra = open(t).then(
      (s) => closed(s, 10_000).then((r) => r.closed),
      () => true,
    );
    expect(await extra).toBe(true);
    for (const s of sockets.splice(0)) s.destroy();
    await sleep(200);
    const res = await post(t.port, '/validate', smallReview(), { ca: t.bundle.caCert });
    expect(res.status).toBe(200);
  });
});

describe('shutdown whatever clients do', () => {
  it('ends the drain at the deadline with a stalled body, and counts it as cut, not unanswered', async () => {
    const t = await start({}, { shutdownSeconds: 1.5 });
    stall(await open(t), 1000);
    await sleep(200);
    expect(t.webhook.lifecycle.inFlight).toBe(1);
    const started = Date.now();
    const result = await t.webhook.shutdown(0);
    // Generous bound: it ends, well inside the chart's 30 s grace period.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result).toEqual({ cut: 1, unanswered: 0 });
  });
});
