import { mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCertificates, type CertificateBundle } from '../../src/pki/issue.js';
import { servingCertificateProblem } from '../../src/pki/verify.js';
import { get, sleep, startTestWebhook, type TestWebhook } from '../helpers/webhook.js';
import type { ServeOptions } from '../../src/app/serve.js';

// A pair outside its validity window or signed by another CA is never put in use: the API
// server would fail every handshake while the pod looked healthy.

const DAY = 86_400_000;
let running: TestWebhook | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function fingerprint(t: TestWebhook): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port: t.port,
        rejectUnauthorized: false,
        servername: 'meshwarden.meshwarden-system.svc',
      },
      () => {
        const cert: PeerCertificate = socket.getPeerCertificate();
        socket.end();
        resolve(cert.fingerprint256);
      },
    );
    socket.on('error', reject);
  });
}

async function refusals(t: TestWebhook, reason: string): Promise<number> {
  const values = (await t.webhook.metrics.certificateRefusals.get()).values;
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function replaceFiles(t: TestWebhook, pair: { cert: string; key: string }) {
  await writeFile(t.paths.cert, pair.cert);
  await writeFile(t.paths.key, pair.key);
}

async function waitRefused(t: TestWebhook, reason: string) {
  for (let i = 0; i < 100 && (await refusals(t, reason)) === 0; i++) await sleep(100);
}

async function start(options: Partial<ServeOptions> = {}) {
  running = await startTestWebhook({ certPollMs: 50, ...options });
  return running;
}

const ca = (b: CertificateBundle) => ({ cert: b.caCert, key: b.caKey });

describe('certificates checked before use', () => {
  it('refuses an expired pair on reload and keeps the old one, with a metric', async () => {
    const t = await start();
    const before = await fingerprint(t);
    const expired = await generateCertificates({
      ca: ca(t.bundle),
      now: new Date(Date.now() - 40 * DAY),
      days: 30,
    });
    await replaceFiles(t, expired);
    await waitRefused(t, 'expired');
    expect(await refusals(t, 'expired')).toBe(1);
    expect(await fingerprint(t)).toBe(before);
    expect((await get(t.port, '/readyz', t.bundle.caCert)).status).toBe(200);
  });

  it('refuses a pair that is not valid yet', async () => {
    const t = await start();
    const before = await fingerprint(t);
    const future = await generateCertificates({
      ca: ca(t.bundle),
      now: new Date(Date.now() + 2 * DAY),
      days: 30,
    });
    await replaceFiles(t, future);
    await waitRefused(t, 'not-yet-valid');
    expect(await refusals(t, 'not-yet-valid')).toBe(1);
    expect(await fingerprint(t)).toBe(before);
  });

  it('refuses a pair not signed by the --ca bundle, and takes one that is', async () => {
    const bundle = await generateCertificates();
    const caFile = join(await mkdtemp(join(tmpdir(), 'meshwarden-ca-')), 'ca.crt');
    await writeFile(caFile, bundle.caCert);
    running = await startTestWebhook({ certPollMs: 50, caFile });
    const t = running;
    // The helper made a fresh CA for this server: its own pair does not chain to caFile.
    expect(await refusals(t, 'wrong-ca')).toBe(1);
    expect(
      (await get(t.port, '/readyz', t.bundle.caCert).catch(() => ({ status: 0 }))).status,
    ).not.toBe(200);
    const good = await generateCertificates({ ca: ca(bundle) });
    await replaceFiles(t, good);
    for (let i = 0; i < 100 && !t.webhook.lifecycle.ready; i++) await sleep(100);
    expect(t.webhook.lifecycle.ready).toBe(true);
    const other = await generateCertificates();
    await replaceFiles(t, other);
    for (let i = 0; i < 100 && (await refusals(t, 'wrong-ca')) < 2; i++) await sleep(100);
    expect(await refusals(t, 'wrong-ca')).toBe(2);
    expect(t.webhook.lifecycle.ready).toBe(true);
    // Files seen as changed again (a later mtime, the same pair) are not a second refusal.
    const later = new Date(Date.now() + 5_000);
    await utimes(t.paths.cert, later, later);
    await utimes(t.paths.key, later, later);
    await t.webhook.https.reloadCertificates();
    expect(await refusals(t, 'wrong-ca')).toBe(2);
  });

  it('refuses a pushed pair (self-managed mode) that does not chain to the Secret bundle', async () => {
    const t = await start();
    const other = await generateCertificates();
    expect(() => t.webhook.https.useKeyPair(other.cert, other.key, t.bundle.caCert)).toThrow(
      /not signed/,
    );
    // Pushed again (the controller's next resync): refused again, counted and logged once.
    expect(() => t.webhook.https.useKeyPair(other.cert, other.key, t.bundle.caCert)).toThrow(
      /not signed/,
    );
    expect(await refusals(t, 'wrong-ca')).toBe(1);
    const good = await generateCertificates({ ca: ca(t.bundle) });
    expect(t.webhook.https.useKeyPair(good.cert, good.key, t.bundle.caCert)).toBe(true);
  });

  it('turns /readyz 503 once the certificate in use has expired', async () => {
    const t = await start();
    // A leaf that lives three seconds: valid when put in use, expired soon after.
    const brief = await generateCertificates({ ca: ca(t.bundle), days: 3 / 86_400 });
    await replaceFiles(t, brief);
    const target = (await import('node:crypto')).X509Certificate;
    const fp = new target(brief.cert).fingerprint256;
    for (let i = 0; i < 100 && t.webhook.https.current().fingerprint !== fp; i++) await sleep(50);
    expect(t.webhook.https.current().fingerprint).toBe(fp);
    for (let i = 0; i < 100 && t.webhook.lifecycle.ready; i++) await sleep(100);
    const probe = await get(t.port, '/readyz', t.bundle.caCert).catch(() => ({ status: 503 }));
    expect(probe.status).toBe(503);
    expect(t.webhook.lifecycle.notReadyReason).toBe('the serving certificate has expired');
  });

  it('names the problem', () => {
    expect(servingCertificateProblem('not pem')).toMatch(/not a PEM certificate/);
  });
});
