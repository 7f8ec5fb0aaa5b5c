import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { generateCertificates } from '../pki/issue.js';
import { loadKeyPair, parseKeyPair, type LoadedKeyPair } from '../pki/files.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from '../observability/metrics.js';

export interface HttpsOptions {
  readonly port: number;
  readonly host?: string;
  /**
   * Certificate and key files, re-read when they change. Without them the server starts with an
   * ephemeral pair, not ready, until `useKeyPair` puts a pair in use (self-managed certificates).
   */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** How often certificate files are checked for changes. */
  readonly certPollMs?: number;
}

/**
 * Go's HTTP transport, which the API server uses, keeps idle connections for 90 s. Node 20
 * closes them after 5 s, so a POST can be written onto a socket Node is closing (EOF errors).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;
const HEADERS_TIMEOUT_MS = KEEP_ALIVE_TIMEOUT_MS + 5_000;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** The certificate in use. */
  current(): LoadedKeyPair;
  /** Re-reads the certificate files now; resolves true when a new pair was put in use. */
  reloadCertificates(): Promise<boolean>;
  /** Puts a pair in use directly (the controller's self-managed certificates); throws if unusable. */
  useKeyPair(cert: string, key: string): boolean;
  /** Stops accepting connections, lets in-flight requests finish, closes idle sockets. */
  close(): Promise<void>;
}

export async function startHttpsServer(
  handler: RequestListener,
  options: HttpsOptions,
  deps: { logger: Logger; lifecycle: Lifecycle; metrics: Metrics },
): Promise<RunningServer> {
  const { logger, lifecycle, metrics } = deps;
  // Until the configured files exist (a Secret volume not yet synced, a certificate not yet
  // issued), serve an ephemeral pair so probes answer, and stay not ready.
  const { certFile, keyFile } = options;
  let pair: LoadedKeyPair;
  if (certFile === undefined || keyFile === undefined) {
    logger.info('no certificate yet; serving an ephemeral certificate and not ready');
    pair = { ...(await ephemeralKeyPair()), ephemeral: true };
  } else {
    pair = await loadKeyPair(certFile, keyFile).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      logger.warn(
        { cert: certFile },
        'certificate files not present yet; serving an ephemeral certificate and not ready',
      );
      return { ...(await ephemeralKeyPair()), ephemeral: true };
    });
  }
  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      minVersion: 'TLSv1.2',
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: 0,
    },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  lifecycle.tlsLoaded = !pair.ephemeral;
  if (!pair.ephemeral) metrics.certificateNotAfter.set(pair.notAfter.getTime() / 1000);

  const install = (next: LoadedKeyPair, source: string): boolean => {
    if (next.fingerprint === pair.fingerprint && lifecycle.tlsLoaded) return false;
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    pair = next;
    lifecycle.tlsLoaded = true;
    metrics.certificateReloads.inc();
    metrics.certificateNotAfter.set(pair.notAfter.getTime() / 1000);
    logger.info(
      { notAfter: pair.notAfter.toISOString(), fingerprint: pair.fingerprint, source },
      'serving certificate in use',
    );
    return true;
  };

  let lastStamp =
    certFile === undefined || keyFile === undefined ? '' : await fileStamp(certFile, keyFile);
  const reloadCertificates = async (): Promise<boolean> => {
    if (certFile === undefined || keyFile === undefined) return false;
    const stamp = await fileStamp(certFile, keyFile);
    if (stamp === lastStamp) return false;
    lastStamp = stamp;
    let next: LoadedKeyPair;
    try {
      next = await loadKeyPair(certFile, keyFile);
      // Building a context checks that the key matches the certificate before anything changes.
      createSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    } catch (error) {
      // A half-written pair (cert replaced, key not yet) is retried on the next poll.
      lastStamp = '';
      logger.warn(
        { err: (error as Error).message },
        'certificate files changed but cannot be used yet; keeping the current pair',
      );
      return false;
    }
    return install(next, 'files');
  };
  const useKeyPair = (cert: string, key: string): boolean => {
    const next = parseKeyPair(cert, key, 'pushed certificate');
    createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    return install(next, 'memory');
  };
  // Polling rather than fs.watch: Secret volumes swap a symlink, which fs.watch misses on some kernels.
  const poll =
    certFile === undefined
      ? undefined
      : setInterval(() => {
          void reloadCertificates();
        }, options.certPollMs ?? 1000);
  poll?.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    server,
    port,
    current: () => pair,
    reloadCertificates,
    useKeyPair,
    async close() {
      clearInterval(poll);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await lifecycle.idle();
      // Sockets that were mid-request are now idle (responses carried Connection: close).
      server.closeIdleConnections();
      await closed;
    },
  };
}

async function fileStamp(...files: string[]): Promise<string> {
  const stats = await Promise.all(files.map((f) => stat(f).catch(() => undefined)));
  return stats.map((s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing')).join('|');
}

async function ephemeralKeyPair(): Promise<LoadedKeyPair> {
  const bundle = await generateCertificates({ days: 1 });
  return parseKeyPair(bundle.cert, bundle.key, 'ephemeral certificate');
}
