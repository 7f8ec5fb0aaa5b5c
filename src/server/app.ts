import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { decodeAdmissionReview } from '../admission/decode.js';
import type { AdmissionEngine } from '../admission/engine.js';
import type { Endpoint } from '../admission/types.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from './metrics.js';
import { ruleBudgetMs } from './timeout.js';

/**
 * The largest AdmissionReview the API server can send: two objects of up to 3 MiB (object and
 * oldObject) plus 1 MiB of envelope, as controller-runtime computes it.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface AppDependencies {
  readonly engine: AdmissionEngine;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
}

/** A Kubernetes-style Status body for requests refused before review. */
function statusBody(code: number, reason: string, message: string) {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}

export function createApp(deps: AppDependencies): express.Express {
  const { metrics, logger, lifecycle } = deps;
  const app = express();
  // ETags would hash every response body; the API server never sends If-None-Match.
  app.set('etag', false);
  app.set('x-powered-by', false);

  app.get('/healthz', (_req, res) => {
    res.status(200).type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = lifecycle.ready;
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ready' : lifecycle.draining ? 'draining' : 'not ready');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  for (const endpoint of ['mutate', 'validate'] as const) {
    app.post(`/${endpoint}`, requireJson(endpoint, deps), rawBody, (req, res) => {
      void handleReview(endpoint, req, res, deps);
    });
  }

  app.use((_req: Request, res: Response) => {
    res
      .status(404)
      .json(statusBody(404, 'NotFound', 'not found: use POST /mutate or POST /validate'));
  });
  // Errors from body reading (size, aborted streams); nothing here ever answers allowed.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = error as { type?: string; status?: number; message?: string };
    const endpoint = req.path.slice(1);
    if (e.type === 'entity.too.large') {
      metrics.rejectedBodies.inc({ endpoint, code: '413' });
      res
        .status(413)
        .json(statusBody(413, 'RequestEntityTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const status = e.status !== undefined && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status === 500) logger.error({ err: error }, 'request failed');
    metrics.rejectedBodies.inc({ endpoint, code: String(status) });
    res
      .status(status)
      .json(
        statusBody(
          status,
          status === 500 ? 'InternalError' : 'BadRequest',
          status === 500 ? 'internal error' : (e.message ?? 'bad request'),
        ),
      );
  });
  return app;
}

function requireJson(endpoint: Endpoint, deps: AppDependencies) {
  return (req: Request, res: Response, next: NextFunction) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      deps.metrics.rejectedBodies.inc({ endpoint, code: '415' });
      // Unread bodies must still be drained before the connection can be reused.
      req.resume();
      res
        .status(415)
        .json(
          statusBody(
            415,
            'UnsupportedMediaType',
            `Content-Type must be application/json; got ${type === '' ? 'none' : type}`,
          ),
        );
      return;
    }
    next();
  };
}

async function handleReview(
  endpoint: Endpoint,
  req: Request,
  res: Response,
  deps: AppDependencies,
): Promise<void> {
  const { engine, metrics, logger, lifecycle } = deps;
  const started = process.hrtime.bigint();
  lifecycle.requestStarted();
  metrics.inFlight.inc({ endpoint });
  try {
    if (lifecycle.draining) res.setHeader('Connection', 'close');
    const raw: unknown = req.body;
    let body: unknown;
    try {
      body = Buffer.isBuffer(raw) && raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch (error) {
      metrics.rejectedBodies.inc({ endpoint, code: '400' });
      res
        .status(400)
        .json(statusBody(400, 'BadRequest', `body is not valid JSON: ${(error as Error).message}`));
      return;
    }
    const decoded = decodeAdmissionReview(body);
    if (!decoded.ok) {
      metrics.rejectedBodies.inc({ endpoint, code: '400' });
      res
        .status(400)
        .json(statusBody(400, 'BadRequest', `not an AdmissionReview: ${decoded.message}`));
      return;
    }
    const { request } = decoded.review;
    const outcome = await engine.review(decoded.review, endpoint, {
      timeoutMs: ruleBudgetMs(req.query.timeout),
    });
    res.status(200).json(outcome.review);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.requests.inc({
      endpoint,
      kind: request.kind.kind,
      operation: request.operation,
      decision: outcome.decision,
    });
    metrics.duration.observe({ endpoint }, seconds);
    for (const rule of Object.keys(outcome.review.response?.auditAnnotations ?? {}))
      metrics.audits.inc({ rule });
    logger.info(
      {
        uid: request.uid,
        endpoint,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name ?? request.object?.metadata?.name,
        operation: request.operation,
        dryRun: request.dryRun,
        decision: outcome.decision,
        ...(outcome.deniedBy === undefined ? {} : { rule: outcome.deniedBy }),
        ms: Math.round(seconds * 1e5) / 100,
      },
      'review',
    );
  } catch (error) {
    logger.error({ err: error }, 'review failed');
    if (!res.headersSent) res.status(500).json(statusBody(500, 'InternalError', 'internal error'));
  } finally {
    metrics.inFlight.dec({ endpoint });
    lifecycle.requestFinished();
  }
}
