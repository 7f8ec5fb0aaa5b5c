import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { generateCertificates } from '../pki/issue.js';
import { loadKeyPair, parseKeyPair, type LoadedKeyPair } from '../pki/files.js';
import { servingCertificateProblem } from '../pki/verify.js';
import type { Lifecycle } from './lifecycle.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
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
  /** PEM CA bundle a pair from the files must chain to (`--ca`). */
  readonly caBundle?: string;
  /** Connection and time limits; the defaults when absent. */
  readonly limits?: Pick<
    ServerLimits,
    'maxConnections' | 'requestTimeoutMs' | 'headersTimeoutMs' | 'handshakeTimeoutMs'
  >;
  /** Told about every pair refused, with the reason (an Event in a cluster). */
  readonly onCertificateRefused?: (message: string) => void;
  /** The time certificates are judged at (tests). */
  readonly clock?: () => Date;
}

/**
 * Go's HTTP transport, which the API server uses, keeps idle connections for 90 s. Node 20
 * closes them after 5 s, so a POST can be written onto a socket Node is closing (EOF errors).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** The certificate in use. */
  current(): LoadedKeyPair;
  /** Re-reads the certificate files now; resolves true when a new pair was put in use. */
  reloadCertificates(): Promise<boolean>;
  /**
   * Puts a pair in use directly (the controller's self-managed certificates); throws if
   * unusable, outside its validity window, or not signed by a CA of `caBundle`.
   */
  useKeyPair(cert: string, key: string, caBundle?: string): boolean;
  /**
   * Stops accepting connections and lets in-flight requests finish; past `deadlineMs` the
   * requests still open are cut. Resolves with how many were cut.
   */
  close(deadlineMs?: number): Promise<{ cut: number }>;
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
  const clock = options.clock ?? (() => new Date());
  // The files' stamp is taken before they are read, so a pair still being written can be read
  // whole and then seen again as changed: one pair is counted and logged once per reason.
  let lastRefused = '';
  const refuse = (problem: string, source: string, reason: string, fingerprint: string): void => {
    if (lastRefused === `${fingerprint} ${reason}`) return;
    lastRefused = `${fingerprint} ${reason}`;
    metrics.certificateRefusals.inc({ reason });
    const message = `serving certificate from ${source} refused: ${problem}; the pair in use stays`;
    logger.error({ source, problem }, message);
    options.onCertificateRefused?.(message);
  };
  const problemOf = (next: LoadedKeyPair, caBundle: string | undefined) =>
    servingCertificateProblem(next.cert, {
      now: clock(),
      ...(caBundle === undefined ? {} : { caBundle }),
    });
  if (!pair.ephemeral) {
    const problem = problemOf(pair, options.caBundle);
    if (problem !== undefined) {
      refuse(problem, certFile ?? 'files', reasonOf(problem), pair.fingerprint);
      pair = { ...(await ephemeralKeyPair()), ephemeral: true };
    }
  }
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  // Node's headersTimeout does not cover a connection that never starts a request: such a
  // socket would live until the client left. It gets the headers timeout for its first request.
  const requested = new WeakSet<object>();
  const listener: RequestListener = (req, res) => {
    requested.add(req.socket);
    handler(req, res);
  };
  const server = createServer(
    {
      cert: pair.cert,
      key: pair.key,
      minVersion: 'TLSv1.2',
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Node applies this to each request's headers, from its first byte (an idle keep-alive
      // socket waits under keepAliveTimeout instead), and to a new connection's first request.
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often the two above are checked; the default (30 s) would let a stalled body live
      // a whole extra requestTimeout.
      connectionsCheckingInterval: Math.max(
        50,
        Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)),
      ),
      handshakeTimeout: limits.handshakeTimeoutMs,
    },
    listener,
  );
  server.on('secureConnection', (socket) => {
    const timer = setTimeout(() => {
      if (!requested.has(socket)) socket.destroy();
    }, limits.headersTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.maxConnections = limits.maxConnections;
  lifecycle.tlsLoaded = !pair.ephemeral;
  if (!pair.ephemeral) {
    lifecycle.certificateNotAfter = pair.notAfter;
    metrics.certificateNotAfter.set(pair.notAfter.getTime() / 1000);
  }

  const install = (next: LoadedKeyPair, source: string): boolean => {
    if (next.fingerprint === pair.fingerprint && lifecycle.tlsLoaded) return false;
    server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
    pair = next;
    lifecycle.tlsLoaded = true;
    lifecycle.certificateNotAfter = next.notAfter;
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
    if (next.fingerprint === pair.fingerprint && lifecycle.tlsLoaded) return false;
    const problem = problemOf(next, options.caBundle);
    if (problem !== undefined) {
      refuse(problem, certFile, reasonOf(problem), next.fingerprint);
      return false;
    }
    return install(next, 'files');
  };
  const useKeyPair = (cert: string, key: string, caBundle?: string): boolean => {
    const next = parseKeyPair(cert, key, 'pushed certificate');
    createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
    if (next.fingerprint === pair.fingerprint && lifecycle.tlsLoaded) return false;
    const problem = problemOf(next, caBundle ?? options.caBundle);
    if (problem !== undefined) {
      refuse(problem, 'the TLS Secret', reasonOf(problem), next.fingerprint);
      throw new Error(problem);
    }
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
    async close(deadlineMs?: number) {
      clearInterval(poll);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        if (deadlineMs !== undefined) timer = setTimeout(() => resolve('late'), deadlineMs);
      });
      const ended = await Promise.race([lifecycle.idle().then(() => 'idle' as const), late]);
      clearTimeout(timer);
      let cut = 0;
      if (ended === 'late') {
        // Whatever clients do, the drain ends here: stalled bodies and slow readers are cut.
        cut = lifecycle.inFlight;
        logger.warn({ cut }, 'drain deadline reached; cutting the requests still open');
        server.closeAllConnections();
      } else {
        // Sockets that were mid-request are now idle (responses carried Connection: close).
        server.closeIdleConnections();
      }
      await closed;
      return { cut };
    },
  };
}

/** A bounded label value for the refusal metric. */
function reasonOf(problem: string): string {
  if (problem.startsWith('expired')) return 'expired';
  if (problem.startsWith('not valid before')) return 'not-yet-valid';
  if (problem.startsWith('not signed')) return 'wrong-ca';
  return 'unreadable';
}

async function fileStamp(...files: string[]): Promise<string> {
  const stats = await Promise.all(files.map((f) => stat(f).catch(() => undefined)));
  return stats.map((s) => (s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing')).join('|');
}

async function ephemeralKeyPair(): Promise<LoadedKeyPair> {
  const bundle = await generateCertificates({ days: 1 });
  return parseKeyPair(bundle.cert, bundle.key, 'ephemeral certificate');
}
