import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkServerIdentity,
  connect,
  type ConnectionOptions,
  type PeerCertificate,
} from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhook, type RunningWebhook } from '../../src/app/serve.js';
import { contractProblems } from '../helpers/contract.js';
import { deployment, makeReview } from '../helpers/reviews.js';
import { keepAliveAgent, post, sleep } from '../helpers/webhook.js';

// The HTTPS contract (CONTRACT §1, §2) against the real server with the certificates `serve`
// generates in development.
let webhook: RunningWebhook;
let dir: string;
let ca: string;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshwarden-tls-'));
  webhook = await startWebhook({
    port: 0,
    host: '127.0.0.1',
    certDir: dir,
    drainSeconds: 0,
    logger: pino({ level: 'silent' }),
  });
  port = webhook.https.port;
  ca = await readFile(join(dir, 'ca.crt'), 'utf8');
});

afterAll(async () => {
  await webhook.shutdown(0);
  await rm(dir, { recursive: true, force: true });
});

function handshake(
  options: ConnectionOptions,
): Promise<{ protocol: string | null; peer: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
      const result = { protocol: socket.getProtocol(), peer: socket.getPeerCertificate() };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

describe('TLS', () => {
  it('refuses TLS 1.1 with a protocol-version alert from the server', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's.
    await expect(
      handshake({
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
        rejectUnauthorized: false,
      }),
    ).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  it('accepts TLS 1.2 and negotiates TLS 1.3 when offered', async () => {
    expect((await handshake({ maxVersion: 'TLSv1.2', rejectUnauthorized: false })).protocol).toBe(
      'TLSv1.2',
    );
    expect((await handshake({ rejectUnauthorized: false })).protocol).toBe('TLSv1.3');
  });

  it('is verified by the generated CA under the name the API server uses', async () => {
    const { peer } = await handshake({ ca, servername: 'meshwarden.meshwarden-system.svc' });
    for (const name of [
      'meshwarden',
      'meshwarden.meshwarden-system',
      'meshwarden.meshwarden-system.svc',
      'meshwarden.meshwarden-system.svc.cluster.local',
      'localhost',
    ])
      expect(checkServerIdentity(name, peer), name).toBeUndefined();
    expect(checkServerIdentity('other.meshwarden-system.svc', peer)).toBeInstanceOf(Error);
    // The leaf is signed by the CA in ca.crt (not self-signed), and carries the loopback IPs.
    const leaf = new X509Certificate(peer.raw);
    expect(leaf.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
  });

  it('fails verification under a name the certificate does not carry', async () => {
    await expect(handshake({ ca, servername: 'webhook.elsewhere.svc' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it('keeps a keep-alive connection usable after 10 s idle', async () => {
    const agent = keepAliveAgent(ca);
    try {
      const review = JSON.stringify(
        makeReview({ object: deployment('web', { app: 'web', version: 'v1' }) }),
      );
      const first = await post(port, '/validate?timeout=10s', review, { agent });
      expect(first.status).toBe(200);
      await sleep(10_000);
      const second = await post(port, '/validate?timeout=10s', review, { agent });
      expect(second.status).toBe(200);
      expect(second.reusedSocket).toBe(true);
      expect(contractProblems(JSON.parse(review), JSON.parse(second.body), 'validate')).toEqual([]);
    } finally {
      agent.destroy();
    }
  });
});
