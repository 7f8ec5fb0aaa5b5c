import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint } from '../admission/types.js';
import { AdmissionBudget } from './admission-budget.js';
import { afterAnswers, judgeInTurn } from './turn-batch.js';
import { DEFAULT_LIMITS } from './limits.js';
import { decoderFor, readBody } from './read-body.js';
import { MAX_BODY_BYTES, refuse, type ReviewDependencies } from './review-http.js';
import { createReviewResponder } from './review-responder.js';

export { MAX_BODY_BYTES, sendJson, type ReviewDependencies } from './review-http.js';

/** The media type of a Content-Type header, lower-cased, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
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
    const finished = () =>
      afterAnswers(() => {
        ticket.release();
        lifecycle.requestFinished();
      });
    readBody(
      req,
      MAX_BODY_BYTES,
      decoder,
      (body) => {
        if (body.kind === 'read') {
          lifecycle.bodyRead();
          const done = () => {
            lifecycle.answered();
            finished();
          };
          // Handed over once: the batch keeps this closure until its whole turn is judged.
          let raw = body.raw;
          judgeInTurn(() => {
            const held = raw;
            raw = undefined;
            const pending = respond(endpoint, held, timeoutParam, res);
            if (pending === undefined) done();
            else void pending.finally(done);
          }, raw?.length ?? 0);
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
