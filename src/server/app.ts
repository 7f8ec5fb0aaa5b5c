import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { failureStatus } from '../admission/response.js';
import { createReviewListener, sendJson, type ReviewDependencies } from './review-handler.js';

export { MAX_BODY_BYTES } from './review-handler.js';

export type AppDependencies = ReviewDependencies & {
  /** false when `--metrics-port` serves /metrics on a listener of its own. */
  readonly serveMetrics?: boolean;
};

/**
 * The server's request listener. Admission reviews (POST /mutate, /validate) take one path, the
 * review listener; express serves only the probes, the metrics and the 404s, and never reads a
 * request body.
 */
export function createApp(deps: AppDependencies): RequestListener {
  const reviews = createReviewListener(deps);
  const rest = createProbeApp(deps);
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!reviews(req, res)) rest(req, res);
  };
}

function createProbeApp(deps: AppDependencies): express.Express {
  const { metrics, logger, lifecycle } = deps;
  const app = express();
  // ETags would hash every response body; nothing polling these sends If-None-Match.
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
  if (deps.serveMetrics !== false)
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

  app.use((req: Request, res: Response) => {
    // A body sent to a path nobody reads is drained, so the connection can be reused.
    req.resume();
    sendJson(
      res,
      404,
      failureStatus(404, 'NotFound', 'not found: use POST /mutate or POST /validate'),
    );
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    logger.error({ err: error }, 'request failed');
    if (!res.headersSent) sendJson(res, 500, failureStatus(500, 'InternalError', 'internal error'));
  });
  return app;
}
