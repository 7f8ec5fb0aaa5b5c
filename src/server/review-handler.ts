import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { decodeAdmissionReview } from '../admission/decode.js';
import type { AdmissionEngine } from '../admission/engine.js';
import type { Endpoint } from '../admission/types.js';
import { failureStatus } from '../admission/response.js';
import type { KubeObject } from '../k8s/objects.js';
import type { Metrics } from '../observability/metrics.js';
import type { Lifecycle } from './lifecycle.js';
import { decoderFor, readBody } from './read-body.js';
import { ruleBudgetMs } from './timeout.js';

/**
 * The largest AdmissionReview the API server can send: two objects of up to 3 MiB (object and
 * oldObject) plus 1 MiB of envelope, as controller-runtime computes it.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface ReviewDependencies {
  readonly engine: AdmissionEngine;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
}

/** Writes a JSON body in one piece, the way express's `res.json` would, minus its per-call work. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

type Refusal = 400 | 413 | 415;
const REFUSAL_REASONS: Readonly<Record<Refusal, string>> = {
  400: 'BadRequest',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
};

/**
 * The one place a review is refused before the engine sees it: counted by endpoint and code,
 * answered with a Kubernetes Status body (never an AdmissionReview, so never an allow).
 */
function refuse(
  metrics: Metrics,
  res: ServerResponse,
  endpoint: Endpoint,
  code: Refusal,
  message: string,
): void {
  metrics.rejectedBodies.inc({ endpoint, code: String(code) });
  sendJson(res, code, failureStatus(code, REFUSAL_REASONS[code], message));
}

/** The object's name for logs, when it is a string (the body may put anything there). */
function nameOf(object: KubeObject | null): string | undefined {
  const name = object?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
}

type ReviewResponder = (
  endpoint: Endpoint,
  raw: Buffer | undefined,
  timeoutParam: string | undefined,
  res: ServerResponse,
) => Promise<void>;

/**
 * Reads, decides and answers one review whose body has been read. The caller counts the request
 * in `lifecycle` (from the moment it starts reading it).
 */
function createReviewResponder(deps: ReviewDependencies): ReviewResponder {
  const { engine, metrics, logger, lifecycle } = deps;
  // Label children resolved once rather than per request.
  const inFlight = {
    mutate: metrics.inFlight.labels({ endpoint: 'mutate' }),
    validate: metrics.inFlight.labels({ endpoint: 'validate' }),
  };
  const duration = {
    mutate: metrics.duration.labels({ endpoint: 'mutate' }),
    validate: metrics.duration.labels({ endpoint: 'validate' }),
  };
  // A kind no rule handles is counted as `other`: label values come from the request, and a
  // client sending endless made-up kinds must not grow the metrics without bound.
  const kindLabel = (group: string, kind: string) =>
    engine.handles('validate', group, kind) || engine.handles('mutate', group, kind)
      ? kind
      : 'other';

  return async (endpoint, raw, timeoutParam, res) => {
    const started = process.hrtime.bigint();
    inFlight[endpoint].inc();
    try {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
      let body: unknown;
      try {
        body = raw !== undefined && raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch (error) {
        refuse(metrics, res, endpoint, 400, `body is not valid JSON: ${(error as Error).message}`);
        return;
      }
      const decoded = decodeAdmissionReview(body);
      if (!decoded.ok) {
        refuse(metrics, res, endpoint, 400, `not an AdmissionReview: ${decoded.message}`);
        return;
      }
      const { request } = decoded.review;
      const outcome = await engine.review(decoded.review, endpoint, {
        timeoutMs: ruleBudgetMs(timeoutParam),
      });
      sendJson(res, 200, outcome.review);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.requests.inc({
        endpoint,
        kind: kindLabel(request.kind.group, request.kind.kind),
        operation: request.operation,
        decision: outcome.decision,
      });
      duration[endpoint].observe(seconds);
      const audit = outcome.review.response?.auditAnnotations;
      if (audit !== undefined) for (const rule of Object.keys(audit)) metrics.audits.inc({ rule });
      logger.info(
        {
          uid: request.uid,
          endpoint,
          kind: request.kind.kind,
          namespace: request.namespace,
          name: request.name ?? nameOf(request.object),
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
      if (!res.headersSent) {
        sendJson(res, 500, failureStatus(500, 'InternalError', 'internal error'));
      }
    } finally {
      inFlight[endpoint].dec();
    }
  };
}

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/mutate', 'mutate'],
  ['/validate', 'validate'],
]);

/** The endpoint a path names; like express's default routing, case and a trailing `/` do not matter. */
function endpointOf(path: string): Endpoint | undefined {
  const exact = ENDPOINTS.get(path);
  if (exact !== undefined) return exact;
  const lower = path.toLowerCase();
  return ENDPOINTS.get(lower.endsWith('/') ? lower.slice(0, -1) : lower);
}

/**
 * The only admission path: every POST to /mutate and /validate is read and answered here, without
 * express. The API server's reviews are the only hot path, and express's per-request set-up
 * (prototype swaps, router, body-parser) cost more than the review itself. Returns false for
 * anything else (other paths and methods), which the caller hands to express.
 */
export function createReviewListener(
  deps: ReviewDependencies,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { metrics, lifecycle } = deps;
  const respond = createReviewResponder(deps);
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const question = url.indexOf('?');
    const endpoint = endpointOf(question === -1 ? url : url.slice(0, question));
    if (endpoint === undefined) return false;

    const type = mediaType(req.headers['content-type']);
    const encoding = req.headers['content-encoding'];
    const decoder = decoderFor(encoding);
    if (type !== 'application/json' || decoder === null) {
      // Unread bodies must still be drained before the connection can be reused.
      req.resume();
      refuse(
        metrics,
        res,
        endpoint,
        415,
        decoder === null
          ? `unsupported Content-Encoding "${encoding}"`
          : `Content-Type must be application/json; got ${type === '' ? 'none' : type}`,
      );
      return true;
    }
    const timeoutParam =
      question === -1
        ? undefined
        : (new URLSearchParams(url.slice(question + 1)).get('timeout') ?? undefined);

    // Counted from the first byte, so a drain waits for bodies still arriving.
    lifecycle.requestStarted();
    readBody(req, MAX_BODY_BYTES, decoder, (body) => {
      if (body.kind === 'read') {
        void respond(endpoint, body.raw, timeoutParam, res).finally(() =>
          lifecycle.requestFinished(),
        );
        return;
      }
      if (body.kind === 'too-large') {
        refuse(metrics, res, endpoint, 413, `body exceeds ${MAX_BODY_BYTES} bytes`);
      } else if (body.kind === 'undecodable') {
        refuse(metrics, res, endpoint, 400, body.message);
      }
      lifecycle.requestFinished();
    });
    return true;
  };
}
