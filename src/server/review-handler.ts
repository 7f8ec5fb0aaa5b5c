import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { decodeAdmissionReview } from '../admission/decode.js';
import type { AdmissionEngine } from '../admission/engine.js';
import type { Endpoint } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import type { Lifecycle } from './lifecycle.js';
import type { Metrics } from '../observability/metrics.js';
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

/** A Kubernetes-style Status body for requests refused before review. */
export function statusBody(code: number, reason: string, message: string) {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
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
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function unsupportedMediaType(type: string) {
  return statusBody(
    415,
    'UnsupportedMediaType',
    `Content-Type must be application/json; got ${type === '' ? 'none' : type}`,
  );
}

export function tooLarge() {
  return statusBody(413, 'RequestEntityTooLarge', `body exceeds ${MAX_BODY_BYTES} bytes`);
}

/** The object's name for logs, when it is a string (the body may put anything there). */
function nameOf(object: KubeObject | null): string | undefined {
  const name = object?.metadata?.name;
  return typeof name === 'string' ? name : undefined;
}

export type ReviewResponder = (
  endpoint: Endpoint,
  raw: Buffer | undefined,
  timeoutParam: unknown,
  res: ServerResponse,
) => Promise<void>;

/**
 * Reads, decides and answers one review whose body has been read. Shared by the direct path
 * below and express's fallback route, so both answer alike. Callers count the request in
 * `lifecycle` (from the moment they start reading it).
 */
export function createReviewResponder(deps: ReviewDependencies): ReviewResponder {
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
  const rejected = (endpoint: Endpoint, code: number) =>
    metrics.rejectedBodies.inc({ endpoint, code: String(code) });

  return async (endpoint, raw, timeoutParam, res) => {
    const started = process.hrtime.bigint();
    inFlight[endpoint].inc();
    try {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
      let body: unknown;
      try {
        body = raw !== undefined && raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch (error) {
        rejected(endpoint, 400);
        sendJson(
          res,
          400,
          statusBody(400, 'BadRequest', `body is not valid JSON: ${(error as Error).message}`),
        );
        return;
      }
      const decoded = decodeAdmissionReview(body);
      if (!decoded.ok) {
        rejected(endpoint, 400);
        sendJson(
          res,
          400,
          statusBody(400, 'BadRequest', `not an AdmissionReview: ${decoded.message}`),
        );
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
      if (!res.headersSent) sendJson(res, 500, statusBody(500, 'InternalError', 'internal error'));
    } finally {
      inFlight[endpoint].dec();
    }
  };
}

const ENDPOINTS: ReadonlyMap<string, Endpoint> = new Map([
  ['/mutate', 'mutate'],
  ['/validate', 'validate'],
]);

/**
 * The admission path without express: the API server's POSTs to /mutate and /validate are the
 * only hot path, and express's per-request set-up (prototype swaps, router, body-parser) cost
 * more than the review itself. Returns false for anything it does not take (other paths and
 * methods, compressed bodies), which express then handles as before.
 */
export function createReviewListener(
  deps: ReviewDependencies,
  respond: ReviewResponder = createReviewResponder(deps),
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { metrics, lifecycle } = deps;
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const question = url.indexOf('?');
    const endpoint = ENDPOINTS.get(question === -1 ? url : url.slice(0, question));
    if (endpoint === undefined) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;

    const type = mediaType(req.headers['content-type']);
    if (type !== 'application/json') {
      metrics.rejectedBodies.inc({ endpoint, code: '415' });
      // Unread bodies must still be drained before the connection can be reused.
      req.resume();
      sendJson(res, 415, unsupportedMediaType(type));
      return true;
    }
    const timeoutParam =
      question === -1 ? undefined : new URLSearchParams(url.slice(question + 1)).get('timeout');

    // Counted from the first byte, so a drain waits for bodies still arriving.
    lifecycle.requestStarted();
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      lifecycle.requestFinished();
    };
    const declared = Number(req.headers['content-length']);
    let size = 0;
    let over = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) {
        metrics.rejectedBodies.inc({ endpoint, code: '413' });
        sendJson(res, 413, tooLarge());
        settle();
        return;
      }
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      void respond(endpoint, raw, timeoutParam ?? undefined, res).finally(settle);
    });
    // A client that goes away mid-body gets no answer; nothing else to undo.
    req.on('close', () => {
      if (!req.complete) settle();
    });
    req.on('error', settle);
    return true;
  };
}
