import express, { type NextFunction, type Request, type Response } from 'express';
import { failureStatus } from '../admission/response.js';
import { sendJson, type AppDependencies } from './review-http.js';

/**
 * What express serves: GET /metrics and the 404s (and errors). The reviews and the probes are
 * answered before it (app.ts); this module is loaded on the first request that reaches it.
 */
export function createExpressApp(deps: AppDependencies): express.Express {
  const { metrics, logger } = deps;
  const app = express();
  // ETags would hash every response body; nothing polling these sends If-None-Match.
  app.set('etag', false);
  app.set('x-powered-by', false);

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
