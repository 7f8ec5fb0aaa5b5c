import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { decodeAdmissionReview } from '../admission/decode.js';
import type { AdmissionEngine } from '../admission/engine.js';
import type { Endpoint } from '../admission/types.js';
import { allowed, denied, failureStatus, reviewOf } from '../admission/response.js';
import type { AdmissionApiVersion } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { clipString } from '../observability/log-fields.js';
import type { Metrics } from '../observability/metrics.js';
import { AdmissionBudget } from './admission-budget.js';
import type { Lifecycle } from './lifecycle.js';
import { countWork, DEFAULT_LIMITS, workProblem, type WorkLimits } from './limits.js';
import { decoderFor, readBody } from './read-body.js';
import type { ScreenPool } from './screen-pool.js';
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
  /** The global budget of bytes and reviews; the default limits when absent. */
  readonly budget?: AdmissionBudget;
  readonly work?: WorkLimits;
  /** Bodies of at least `offloadBytes` are screened here first, off the event loop. */
  readonly screen?: { readonly pool: ScreenPool; readonly offloadBytes: number };
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

type Refusal = 400 | 413 | 415 | 429 | 503;
const REFUSAL_REASONS: Readonly<Record<Refusal, string>> = {
  400: 'BadRequest',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
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
  // The API server applies the failure policy to this one call; a client may come back later.
  if (code === 429 || code === 503) res.setHeader('Retry-After', '1');
  sendJson(res, code, failureStatus(code, REFUSAL_REASONS[code], message));
}

/** The object's name for logs, when it is a string (the body may put anything there). */
function nameOf(object: KubeObject | null): string | undefined {
  const name = object?.metadata?.name;
  return typeof name === 'string' ? clipString(name) : undefined;
}

const clip = (value: string | undefined) => (value === undefined ? undefined : clipString(value));

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

  const work = deps.work ?? DEFAULT_LIMITS.work;
  const stopAt = Math.max(work.maxBackends, work.maxRoutes);
  const handled = (endpoint: Endpoint, group: string, kind: string) =>
    engine.handles(endpoint, group, kind);
  /** An answer decided from the numbers alone, without the object on this thread. */
  const quick = (
    endpoint: Endpoint,
    res: ServerResponse,
    apiVersion: string,
    uid: string,
    kind: string,
    problem: string | undefined,
    started: bigint,
  ) => {
    const review = reviewOf(
      apiVersion as AdmissionApiVersion,
      problem === undefined ? allowed(uid) : denied(uid, problem),
    );
    sendJson(res, 200, review);
    const decision = problem === undefined ? 'allowed' : 'denied';
    metrics.requests.inc({ endpoint, kind: 'other', operation: 'screened', decision });
    duration[endpoint].observe(Number(process.hrtime.bigint() - started) / 1e9);
    logger.info(
      { uid: clipString(uid), endpoint, kind: clipString(kind), decision, screened: true },
      'review',
    );
  };

  return async (endpoint, raw, timeoutParam, res) => {
    const started = process.hrtime.bigint();
    inFlight[endpoint].inc();
    try {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
      const screen = deps.screen;
      if (screen !== undefined && raw !== undefined && raw.length >= screen.offloadBytes) {
        // Parsed off the event loop first: most large bodies are answered from the screening
        // alone (over the work limits, or of a kind no rule reads).
        let screened;
        try {
          screened = await screen.pool.screen(raw, stopAt);
        } catch (error) {
          logger.warn({ err: (error as Error).message, endpoint }, 'screening failed');
          refuse(metrics, res, endpoint, 503, 'the review could not be screened; retry');
          return;
        }
        if (screened.type === 'unparsable') {
          refuse(metrics, res, endpoint, 400, `body is not valid JSON: ${screened.message}`);
          return;
        }
        if (screened.type === 'invalid') {
          refuse(metrics, res, endpoint, 400, `not an AdmissionReview: ${screened.message}`);
          return;
        }
        const problem = workProblem(screened, work);
        const reads = screened.hasObject && handled(endpoint, screened.group, screened.kind);
        if (!reads || problem !== undefined) {
          const { apiVersion, uid, kind } = screened;
          quick(endpoint, res, apiVersion, uid, kind, reads ? problem : undefined, started);
          return;
        }
      }
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
      if (request.object !== null && handled(endpoint, request.kind.group, request.kind.kind)) {
        const problem = workProblem(countWork(request.object, stopAt), work);
        if (problem !== undefined) {
          quick(
            endpoint,
            res,
            decoded.review.apiVersion,
            request.uid,
            request.kind.kind,
            problem,
            started,
          );
          return;
        }
      }
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
          uid: clipString(request.uid),
          endpoint,
          kind: clipString(request.kind.kind),
          namespace: clip(request.namespace),
          name: clip(request.name) ?? nameOf(request.object),
          user: clip(request.userInfo.username),
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
  const budget =
    deps.budget ??
    new AdmissionBudget(DEFAULT_LIMITS.maxBufferedBytes, DEFAULT_LIMITS.maxReviewsInFlight);
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

    const ticket = budget.admit();
    const declared = Number(req.headers['content-length']);
    if (
      ticket === undefined ||
      (Number.isFinite(declared) && declared <= MAX_BODY_BYTES && !ticket.hold(declared))
    ) {
      ticket?.release();
      req.resume();
      refuse(
        metrics,
        res,
        endpoint,
        429,
        ticket === undefined
          ? `too many reviews in flight (${budget.maxReviews}); retry`
          : `too many request bytes held (${budget.maxBytes}); retry`,
      );
      return true;
    }
    // Counted from the first byte, so a drain waits for bodies still arriving.
    lifecycle.requestStarted();
    const finished = () => {
      ticket.release();
      lifecycle.requestFinished();
    };
    readBody(
      req,
      MAX_BODY_BYTES,
      decoder,
      (body) => {
        if (body.kind === 'read') {
          lifecycle.bodyRead();
          void respond(endpoint, body.raw, timeoutParam, res).finally(() => {
            lifecycle.answered();
            finished();
          });
          return;
        }
        if (body.kind === 'too-large') {
          refuse(metrics, res, endpoint, 413, `body exceeds ${MAX_BODY_BYTES} bytes`);
        } else if (body.kind === 'over-budget') {
          refuse(
            metrics,
            res,
            endpoint,
            429,
            `too many request bytes held (${budget.maxBytes}); retry`,
          );
        } else if (body.kind === 'undecodable') {
          refuse(metrics, res, endpoint, 400, body.message);
        }
        finished();
      },
      (total) => ticket.hold(total),
    );
    return true;
  };
}
