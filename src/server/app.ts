import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { failureStatus } from '../admission/response.js';
import type { Lifecycle } from './lifecycle.js';
import { createReviewListener, sendJson } from './review-handler.js';
import type { AppDependencies } from './review-http.js';

export { MAX_BODY_BYTES } from './review-handler.js';

export type { AppDependencies } from './review-http.js';

/**
 * The server's request listener. Admission reviews (POST /mutate, /validate) take one path, the
 * review listener; the probes another, as small; express serves only the metrics and the 404s,
 * and never reads a request body. Express is loaded on the first request it serves: the probes
 * answer without it, so the server is ready sooner.
 */
export function createApp(deps: AppDependencies): RequestListener {
  const reviews = createReviewListener(deps);
  const probes = createProbeListener(deps.lifecycle);
  let rest: RequestListener | undefined;
  let loading: Promise<RequestListener> | undefined;
  return (req: IncomingMessage, res: ServerResponse) => {
    if (reviews(req, res) || probes(req, res)) return;
    if (rest !== undefined) {
      rest(req, res);
      return;
    }
    loading ??= import('./express-app.js').then((m) => (rest = m.createExpressApp(deps)));
    loading.then(
      (app) => app(req, res),
      (error: unknown) => {
        deps.logger.error({ err: error }, 'request failed');
        req.resume();
        if (!res.headersSent)
          sendJson(res, 500, failureStatus(500, 'InternalError', 'internal error'));
      },
    );
  };
}

/** The probe a path names, as express's default routing matches it (any case, trailing `/`). */
function probeOf(url: string | undefined): 'healthz' | 'readyz' | undefined {
  const raw = url ?? '';
  const question = raw.indexOf('?');
  let path = (question === -1 ? raw : raw.slice(0, question)).toLowerCase();
  if (path.endsWith('/') && path.length > 1) path = path.slice(0, -1);
  return path === '/healthz' ? 'healthz' : path === '/readyz' ? 'readyz' : undefined;
}

/**
 * GET (and HEAD) /healthz and /readyz, answered as express answered them: `text/plain;
 * charset=utf-8`, 200 while alive, and /readyz 503 while not ready or draining.
 */
function createProbeListener(
  lifecycle: Lifecycle,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const probe = probeOf(req.url);
    if (probe === undefined) return false;
    const ready = lifecycle.ready;
    const [status, text] =
      probe === 'healthz'
        ? [200, 'ok']
        : [ready ? 200 : 503, ready ? 'ready' : lifecycle.draining ? 'draining' : 'not ready'];
    // A body sent with a probe is drained, so the connection can be reused.
    req.resume();
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}
