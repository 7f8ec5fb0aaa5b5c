import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AdmissionEngine } from '../admission/engine.js';
import type { Endpoint } from '../admission/types.js';
import { failureStatus } from '../admission/response.js';
import type { Metrics } from '../observability/metrics.js';
import type { AdmissionBudget } from './admission-budget.js';
import { answerInTurn } from './turn-batch.js';
import type { Lifecycle } from './lifecycle.js';
import type { WorkLimits } from './limits.js';
import type { ScreenPool } from './screen-pool.js';

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

export type AppDependencies = ReviewDependencies & {
  /** false when `--metrics-port` serves /metrics on a listener of its own. */
  readonly serveMetrics?: boolean;
};

/** Writes a JSON body in one piece, the way express's `res.json` would, minus its per-call work. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  answerInTurn(res, text);
}

export type Refusal = 400 | 413 | 415 | 429 | 503;
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
export function refuse(
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
