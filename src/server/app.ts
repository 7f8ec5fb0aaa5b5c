import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Endpoint } from '../admission/types.js';
import {
  createReviewListener,
  createReviewResponder,
  MAX_BODY_BYTES,
  mediaType,
  sendJson,
  statusBody,
  tooLarge,
  unsupportedMediaType,
  type ReviewDependencies,
} from './review-handler.js';
import { codeLabel, endpointLabel } from '../observability/metric-labels.js';

export { MAX_BODY_BYTES } from './review-handler.js';

export type AppDependencies = ReviewDependencies & {
  /** false when `--metrics-port` serves /metrics on a listener of its own. */
  readonly serveMetrics?: boolean;
};

type Handle = (req: IncomingMessage, res: ServerResponse, callback?: NextFunction) => void;

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
  if (deps.serveMetrics !== false)
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

  const respond = createReviewResponder(deps);
  // Reviews the direct listener below leaves to express (compressed bodies, paths spelled
  // differently) take this route, answered by the same responder.
  const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES });
  for (const endpoint of ['mutate', 'validate'] as const) {
    app.post(`/${endpoint}`, requireJson(endpoint, deps), rawBody, (req, res) => {
      lifecycle.requestStarted();
      void respond(endpoint, bodyOf(req), req.query.timeout, res).finally(() =>
        lifecycle.requestFinished(),
      );
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
    const endpoint = endpointLabel(req.path);
    if (e.type === 'entity.too.large') {
      metrics.rejectedBodies.inc({ endpoint, code: '413' });
      res.status(413).json(tooLarge());
      return;
    }
    const status = e.status !== undefined && e.status >= 400 && e.status < 500 ? e.status : 500;
    if (status === 500) logger.error({ err: error }, 'request failed');
    metrics.rejectedBodies.inc({ endpoint, code: codeLabel(status) });
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

  // POST /mutate and /validate skip express entirely (see createReviewListener). Placing the
  // listener in front of express's own dispatch keeps one app for the server and for tests.
  const direct = createReviewListener(deps, respond);
  const viaExpress = (app as unknown as { handle: Handle }).handle.bind(app);
  (app as unknown as { handle: Handle }).handle = (req, res, callback) => {
    if (!direct(req, res)) viaExpress(req, res, callback);
  };
  return app;
}

function bodyOf(req: Request): Buffer | undefined {
  const raw: unknown = req.body;
  return Buffer.isBuffer(raw) ? raw : undefined;
}

function requireJson(endpoint: Endpoint, deps: AppDependencies) {
  return (req: Request, res: Response, next: NextFunction) => {
    const type = mediaType(req.headers['content-type']);
    if (type !== 'application/json') {
      deps.metrics.rejectedBodies.inc({ endpoint, code: '415' });
      // Unread bodies must still be drained before the connection can be reused.
      req.resume();
      sendJson(res, 415, unsupportedMediaType(type));
      return;
    }
    next();
  };
}
