import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  generateCertificates,
  writeCertificates,
  type CertificateBundle,
} from '../../src/server/certs.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/https-server.js';
import { startWebhook, type RunningWebhook } from '../../src/server/serve.js';
import { contractProblems } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';

const SERVICE_NAME = 'meshwarden.meshwarden-system.svc';
let running: RunningWebhook | undefined;
let dir: string | undefined;

afterEach(async () => {
  await running?.shutdown(0);
  running = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(): Promise<{
  webhook: RunningWebhook;
  bundle: CertificateBundle;
  dir: string;
}> {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-https-'));
  const bundle = await generateCertificates();
  const paths = await writeCertificates(dir, bundle);
  running = await startWebhook({
    port: 0,
    host: '127.0.0.1',
    certFile: paths.cert,
    keyFile: paths.key,
    drainSeconds: 0,
    logger: pino({ level: 'silent' }),
  });
  return { webhook: running, bundle, dir };
}

function post(
  port: number,
  ca: string,
  body: unknown,
  agent?: Agent,
  extra: RequestOptions = {},
): Promise<{ status: number; body: unknown; cert: PeerCertificate }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        servername: SERVICE_NAME,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        ...(agent ? { agent } : {}),
        ...extra,
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()),
            cert,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function handshake(
  port: number,
  options: {
    ca?: string | string[];
    maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
    minVersion?: 'TLSv1' | 'TLSv1.1';
  } = {},
): Promise<{ cert: PeerCertificate; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        servername: SERVICE_NAME,
        rejectUnauthorized: options.ca !== undefined,
        ...options,
      },
      () => {
        const result = { cert: socket.getPeerCertificate(), protocol: socket.getProtocol() };
        socket.end();
        resolve(result);
      },
    );
    socket.on('error', reject);
  });
}

describe('HTTPS server', () => {
  it('is verified by the generated CA under the Service name meshwarden.meshwarden-system.svc', async () => {
    const { webhook, bundle } = await start();
    const review = makeReview({ object: deployment('web') });
    const res = await post(webhook.https.port, bundle.caCert, review);
    expect(res.status).toBe(200);
    expect(contractProblems(review, res.body, 'validate')).toEqual([]);
    const leaf = new X509Certificate(bundle.cert);
    for (const name of [
      'localhost',
      'meshwarden',
      'meshwarden.meshwarden-system',
      SERVICE_NAME,
      `${SERVICE_NAME}.cluster.local`,
    ]) {
      expect(leaf.checkHost(name)).toBe(name);
    }
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.verify(new X509Certificate(bundle.caCert).publicKey)).toBe(true);
  });

  it('refuses a client that trusts another CA', async () => {
    const { webhook } = await start();
    const other = await generateCertificates();
    await expect(handshake(webhook.https.port, { ca: other.caCert })).rejects.toThrow();
  });

  it('speaks TLS 1.2 or newer and refuses TLS 1.1', async () => {
    const { webhook, bundle } = await start();
    expect(
      (await handshake(webhook.https.port, { ca: bundle.caCert, maxVersion: 'TLSv1.2' })).protocol,
    ).toBe('TLSv1.2');
    await expect(
      handshake(webhook.https.port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }),
    ).rejects.toThrow();
  });

  it('presents a certificate replaced on disk on the next handshake, without a restart', async () => {
    const { webhook, bundle, dir } = await start();
    const before = await handshake(webhook.https.port, { ca: bundle.caCert });
    const next = await generateCertificates();
    await writeFile(join(dir, 'tls.crt'), next.cert);
    await writeFile(join(dir, 'tls.key'), next.key);
    // The poller picks the change up within a second; wait for it rather than call it.
    let after = before;
    for (let i = 0; i < 50 && after.cert.fingerprint256 === before.cert.fingerprint256; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await handshake(webhook.https.port, { ca: [bundle.caCert, next.caCert] });
    }
    expect(after.cert.fingerprint256).toBe(new X509Certificate(next.cert).fingerprint256);
    expect((await webhook.metrics.certificateReloads.get()).values[0]?.value).toBe(1);
  });

  it('keeps a half-written pair out: the old certificate stays in use until both files match', async () => {
    const { webhook, dir, bundle } = await start();
    const next = await generateCertificates();
    await writeFile(join(dir, 'tls.crt'), next.cert);
    expect(await webhook.https.reloadCertificates()).toBe(false);
    expect((await handshake(webhook.https.port, { ca: bundle.caCert })).cert.fingerprint256).toBe(
      new X509Certificate(bundle.cert).fingerprint256,
    );
    await writeFile(join(dir, 'tls.key'), next.key);
    expect(await webhook.https.reloadCertificates()).toBe(true);
  });

  it('keeps idle keep-alive connections open well beyond Go’s 90 s idle timeout', async () => {
    const { webhook } = await start();
    expect(KEEP_ALIVE_TIMEOUT_MS).toBeGreaterThanOrEqual(90_000);
    expect(webhook.https.server.keepAliveTimeout).toBeGreaterThanOrEqual(90_000);
    expect(webhook.https.server.headersTimeout).toBeGreaterThan(
      webhook.https.server.keepAliveTimeout,
    );
  });

  it('serves a second request on a keep-alive connection idle for 10 s', async () => {
    const { webhook, bundle } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    const first = await post(
      webhook.https.port,
      bundle.caCert,
      makeReview({ object: deployment('a') }),
      agent,
    );
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 10_000));
    const second = await post(
      webhook.https.port,
      bundle.caCert,
      makeReview({ object: deployment('b') }),
      agent,
    );
    expect(second.status).toBe(200);
    expect(sockets.size).toBe(1);
    agent.destroy();
  }, 20_000);

  it('drains on shutdown: readiness turns 503 at once, requests are still served in the window', async () => {
    const { webhook, bundle } = await start();
    const done = webhook.shutdown(1);
    expect(webhook.lifecycle.ready).toBe(false);
    const res = await post(
      webhook.https.port,
      bundle.caCert,
      makeReview({ object: deployment('web') }),
    );
    expect(res.status).toBe(200);
    await done;
    await expect(handshake(webhook.https.port, { ca: bundle.caCert })).rejects.toThrow();
    running = undefined;
  });
});

describe('development certificates', () => {
  it('are generated into an empty folder and reused afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshwarden-dev-'));
    const { ensureDevCertificates } = await import('../../src/server/certs.js');
    const first = await ensureDevCertificates(dir);
    expect(first.generated).toBe(true);
    const second = await ensureDevCertificates(dir);
    expect(second.generated).toBe(false);
  });
});
