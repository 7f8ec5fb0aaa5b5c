import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** No listener at all when undefined (metrics stay on the HTTPS port). */
  readonly port: number | undefined;
  readonly host?: string | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * Limits of the metrics listener. A scrape is one small GET every few seconds; anything slower,
 * larger or more numerous is not Prometheus and gets no more of the process than this.
 */
export const METRICS_SERVER_LIMITS = {
  maxConnections: 16,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderSize: 8 * 1024,
} as const;

/**
 * `--metrics-port`: a plain-HTTP listener that serves only `GET /metrics` (and HEAD). Plain HTTP,
 * as Kyverno and Gatekeeper serve theirs: the text holds counters, no admission data, Prometheus
 * scrapes it without a CA, and a NetworkPolicy can open this port to the monitoring namespace
 * apart from the admission port. With it, the HTTPS admission port no longer serves /metrics.
 */
export async function startMetricsServer(
  options: MetricsServerOptions,
): Promise<MetricsServer | undefined> {
  const { port, metrics, logger } = options;
  if (port === undefined) return undefined;
  try {
    return await listen(port, options.host, metrics, logger);
  } catch (error) {
    throw new Error(`cannot serve metrics on port ${port}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function listen(
  requestedPort: number,
  host: string | undefined,
  metrics: Metrics,
  logger: Logger,
): Promise<MetricsServer> {
  const limits = METRICS_SERVER_LIMITS;
  const server = createServer({ maxHeaderSize: limits.maxHeaderSize }, (req, res) => {
    void answer(req, res, metrics).catch((error: unknown) => {
      logger.error({ err: error }, 'metrics scrape failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => {
      server.off('error', reject);
      server.on('error', (error) => logger.error({ err: error }, 'metrics listener failed'));
      const port = (server.address() as AddressInfo).port;
      logger.info({ port }, `metrics at http://localhost:${port}/metrics`);
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

async function answer(req: IncomingMessage, res: ServerResponse, metrics: Metrics): Promise<void> {
  // Nothing is read from a request: drain whatever body came so the socket can be reused.
  req.resume();
  const url = req.url ?? '';
  const question = url.indexOf('?');
  const path = question === -1 ? url : url.slice(0, question);
  if (path !== '/metrics') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found: this port serves GET /metrics only\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' });
    res.end('method not allowed: use GET /metrics\n');
    return;
  }
  const text = await metrics.registry.metrics();
  res.writeHead(200, {
    'Content-Type': metrics.registry.contentType,
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
