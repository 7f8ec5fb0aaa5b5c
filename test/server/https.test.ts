import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { connect, type PeerCertificate } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureDevCertificates } from '../../src/pki/files.js';
import { generateCertificates } from '../../src/pki/issue.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/https-server.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { contractProblems } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { post, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';

// Certificate reloading, keep-alive settings and the drain, against the real HTTPS server.
// Protocol versions, names and idle keep-alive are in tls.test.ts.

const SERVICE_NAME = 'meshwarden.meshwarden-system.svc';
let running: TestWebhook | undefined;
let dir: string | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(): Promise<TestWebhook> {
  running = await startTestWebhook();
  return running;
}

function handshake(port: number, ca: string | string[]): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: SERVICE_NAME, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

describe('HTTPS server', () => {
  it('refuses a client that trusts another CA', async () => {
    const { port } = await start();
    const other = await generateCertificates();
    await expect(handshake(port, other.caCert)).rejects.toThrow();
  });

  it('presents a certificate replaced on disk on the next handshake, without a restart', async () => {
    const { port, bundle, paths, webhook } = await start();
    const before = await handshake(port, bundle.caCert);
    const next = await generateCertificates();
    await writeFile(paths.cert, next.cert);
    await writeFile(paths.key, next.key);
    // The poller picks the change up within a second; wait for it rather than call it.
    let after = before;
    for (let i = 0; i < 50 && after.fingerprint256 === before.fingerprint256; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await handshake(port, [bundle.caCert, next.caCert]);
    }
    expect(after.fingerprint256).toBe(new X509Certificate(next.cert).fingerprint256);
    expect((await webhook.metrics.certificateReloads.get()).values[0]?.value).toBe(1);
  });

  it('keeps a half-written pair out: the old certificate stays in use until both files match', async () => {
    const { port, bundle, paths, webhook } = await start();
    const next = await generateCertificates();
    await writeFile(paths.cert, next.cert);
    expect(await webhook.https.reloadCertificates()).toBe(false);
    expect((await handshake(port, bundle.caCert)).fingerprint256).toBe(
      new X509Certificate(bundle.cert).fingerprint256,
    );
    await writeFile(paths.key, next.key);
    expect(await webhook.https.reloadCertificates()).toBe(true);
  });

  it('keeps idle keep-alive connections open well beyond Go’s 90 s idle timeout', async () => {
    const { webhook } = await start();
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThanOrEqual(90_000);
    expect(webhook.https.server.keepAliveTimeout).toBeGreaterThanOrEqual(90_000);
  });

  // The headers and request timeouts bound a request, not an idle keep-alive connection:
  // the API server's pooled connections outlive both.
  it('keeps an idle keep-alive connection past the headers and request timeouts', async () => {
    running = await startTestWebhook({
      limits: { ...DEFAULT_LIMITS, headersTimeoutMs: 200, requestTimeoutMs: 400 },
    });
    const { port, bundle } = running;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: bundle.caCert });
    const ports: number[] = [];
    const ask = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/validate',
            method: 'POST',
            agent,
            servername: SERVICE_NAME,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            ports.push(res.socket.localPort ?? -1);
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(makeReview({ object: deployment('web') })));
      });
    try {
      expect(await ask()).toBe(200);
      await new Promise((r) => setTimeout(r, 1200));
      expect(await ask()).toBe(200);
      expect(ports[1]).toBe(ports[0]);
    } finally {
      agent.destroy();
    }
  });

  it('drains on shutdown: readiness turns 503 at once, requests are still served in the window', async () => {
    const { port, bundle, webhook } = await start();
    const done = webhook.shutdown(1);
    expect(webhook.lifecycle.ready).toBe(false);
    const review = makeReview({ object: deployment('web') });
    const res = await post(port, '/validate', JSON.stringify(review), { ca: bundle.caCert });
    expect(res.status).toBe(200);
    expect(contractProblems(review, JSON.parse(res.body), 'validate')).toEqual([]);
    await done;
    await expect(handshake(port, bundle.caCert)).rejects.toThrow();
  });
});

describe('development certificates', () => {
  it('are generated into an empty folder and reused afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwarden-dev-'));
    const first = await ensureDevCertificates(dir);
    expect(first.generated).toBe(true);
    const second = await ensureDevCertificates(dir);
    expect(second.generated).toBe(false);
  });
});
