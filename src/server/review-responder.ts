import type { ServerResponse } from 'node:http';
import { decodeAdmissionReview } from '../admission/decode.js';
import type { ReviewOutcome } from '../admission/engine.js';
import { allowed, denied, failureStatus, reviewOf } from '../admission/response.js';
import type { AdmissionApiVersion, AdmissionRequest, Endpoint } from '../admission/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { clipString } from '../observability/log-fields.js';
import type { Metrics } from '../observability/metrics.js';
import {
  countWork,
  DEFAULT_LIMITS,
  provablyWithinLimits,
  workBounded as boundedKind,
  workProblem,
} from './limits.js';
import { refuse, sendJson, type ReviewDependencies } from './review-http.js';
import type { ScreenPool } from './screen-pool.js';
import { ruleBudgetMs } from './timeout.js';

/** The object's name for logs, when it is a string (the body may put anything there). */
function nameOf(object: KubeObject | null): string | undefined {
  const name = object?.metadata?.name;
  return typeof name === 'string' ? clipString(name) : undefined;
}

const clip = (value: string | undefined) => (value === undefined ? undefined : clipString(value));

/**
 * Reads, decides and answers one review whose body has been read: synchronously, unless the body
 * is screened in a worker first or a rule is asynchronous (then a promise of the same). The
 * caller counts the request in `lifecycle` (from the moment it starts reading it).
 */
export type ReviewResponder = (
  endpoint: Endpoint,
  raw: Buffer | undefined,
  timeoutParam: string | undefined,
  res: ServerResponse,
) => void | Promise<void>;

/**
 * `requests` children by label values, resolved once each: prom-client hashes the label object
 * on every `inc` otherwise. The values are bounded (endpoints, handled kinds or `other`,
 * operations, decisions), so the cache is too.
 */
function requestCounter(metrics: Metrics) {
  const children = new Map<string, { inc(): void }>();
  return (endpoint: Endpoint, kind: string, operation: string, decision: string) => {
    const key = `${endpoint}|${kind}|${operation}|${decision}`;
    let child = children.get(key);
    if (child === undefined) {
      child = metrics.requests.labels({ endpoint, kind, operation, decision });
      children.set(key, child);
    }
    child.inc();
  };
}

/**
 * What operators see at info: denials, patches, warnings, audits and errors. A plain allow (no
 * patch, no warning, no audit) is logged at debug, as controller-runtime and Kyverno do; its
 * metric still counts it.
 */
function loggedAtInfo(outcome: ReviewOutcome): boolean {
  return outcome.decision !== 'allowed' || outcome.review.response?.auditAnnotations !== undefined;
}

/** What the responder asks of a request's kind: asked three or four times per review. */
interface KindFacts {
  /** The metrics label: a kind no rule handles is `other`, since label values come from the request. */
  readonly label: string;
  readonly bounded: boolean;
  readonly mutate: boolean;
  readonly validate: boolean;
}

const UNHANDLED: KindFacts = { label: 'other', bounded: false, mutate: false, validate: false };

/**
 * The facts of every kind a rule handles, worked out once from the engine's rules (which never
 * change once it is built); any other kind is `UNHANDLED`, so requests never add entries.
 */
function kindFacts(
  engine: ReviewDependencies['engine'],
): (group: string, kind: string) => KindFacts {
  const byGroup = new Map<string, Map<string, KindFacts>>();
  for (const endpoint of ['mutate', 'validate'] as const)
    for (const { group, kind } of engine.handledKinds(endpoint)) {
      let kinds = byGroup.get(group);
      if (kinds === undefined) byGroup.set(group, (kinds = new Map<string, KindFacts>()));
      if (kinds.has(kind)) continue;
      kinds.set(kind, {
        label: kind,
        bounded: boundedKind(group, kind),
        mutate: engine.handles('mutate', group, kind),
        validate: engine.handles('validate', group, kind),
      });
    }
  return (group, kind) => byGroup.get(group)?.get(kind) ?? UNHANDLED;
}

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
  const countRequest = requestCounter(metrics);
  const audits = new Map<string, { inc(): void }>();
  const facts = kindFacts(engine);
  const kindLabel = (group: string, kind: string) => facts(group, kind).label;

  const work = deps.work ?? DEFAULT_LIMITS.work;
  const stopAt = Math.max(work.maxBackends, work.maxRoutes);
  const handled = (endpoint: Endpoint, group: string, kind: string) => facts(group, kind)[endpoint];
  const workBounded = (group: string, kind: string) => facts(group, kind).bounded;
  const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

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
    countRequest(endpoint, 'other', 'screened', decision);
    duration[endpoint].observe(seconds(started));
    const level = decision === 'denied' ? 'info' : 'debug';
    if (logger.isLevelEnabled(level))
      logger[level](
        { uid: clipString(uid), endpoint, kind: clipString(kind), decision, screened: true },
        'review',
      );
  };

  const answered = (
    endpoint: Endpoint,
    request: AdmissionRequest,
    outcome: ReviewOutcome,
    res: ServerResponse,
    started: bigint,
  ) => {
    sendJson(res, 200, outcome.review);
    const elapsed = seconds(started);
    countRequest(
      endpoint,
      kindLabel(request.kind.group, request.kind.kind),
      request.operation,
      outcome.decision,
    );
    duration[endpoint].observe(elapsed);
    const audit = outcome.review.response?.auditAnnotations;
    if (audit !== undefined)
      for (const rule of Object.keys(audit)) {
        let child = audits.get(rule);
        if (child === undefined) {
          child = metrics.audits.labels({ rule });
          audits.set(rule, child);
        }
        child.inc();
      }
    const level = loggedAtInfo(outcome) ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    logger[level](
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
        ms: Math.round(elapsed * 1e5) / 100,
      },
      'review',
    );
  };

  /** Parses and decodes the body on this thread and has the engine decide. */
  const judge = (
    endpoint: Endpoint,
    text: string | undefined,
    timeoutParam: string | undefined,
    res: ServerResponse,
    started: bigint,
    /** The body's work was counted or bounded already (worker, or `provablyWithinLimits`). */
    counted: boolean,
  ): void | Promise<void> => {
    let body: unknown;
    try {
      body = text !== undefined && text.length > 0 ? JSON.parse(text) : undefined;
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
    if (
      !counted &&
      request.object !== null &&
      workBounded(request.kind.group, request.kind.kind) &&
      handled(endpoint, request.kind.group, request.kind.kind)
    ) {
      const problem = workProblem(countWork(request.object, stopAt), work);
      if (problem !== undefined) {
        const { apiVersion } = decoded.review;
        quick(endpoint, res, apiVersion, request.uid, request.kind.kind, problem, started);
        return;
      }
    }
    const outcome = engine.decide(decoded.review, endpoint, {
      timeoutMs: ruleBudgetMs(timeoutParam),
    });
    if (outcome instanceof Promise)
      return outcome.then((late) => answered(endpoint, request, late, res, started));
    answered(endpoint, request, outcome, res, started);
  };

  /**
   * Parsed off the event loop first: most such bodies are answered from the screening alone
   * (over the work limits, or of a kind no rule reads).
   */
  const screenFirst = async (
    pool: ScreenPool,
    endpoint: Endpoint,
    raw: Buffer,
    timeoutParam: string | undefined,
    res: ServerResponse,
    started: bigint,
  ): Promise<void> => {
    let screened;
    try {
      screened = await pool.screen(raw, stopAt);
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
    const problem = workBounded(screened.group, screened.kind)
      ? workProblem(screened, work)
      : undefined;
    const reads = screened.hasObject && handled(endpoint, screened.group, screened.kind);
    if (!reads || problem !== undefined) {
      const { apiVersion, uid, kind } = screened;
      quick(endpoint, res, apiVersion, uid, kind, reads ? problem : undefined, started);
      return;
    }
    return judge(endpoint, raw.toString('utf8'), timeoutParam, res, started, true);
  };

  const failed = (res: ServerResponse, error: unknown) => {
    logger.error({ err: error }, 'review failed');
    if (!res.headersSent) sendJson(res, 500, failureStatus(500, 'InternalError', 'internal error'));
  };

  return (endpoint, raw, timeoutParam, res) => {
    const started = process.hrtime.bigint();
    inFlight[endpoint].inc();
    let pending: void | Promise<void> = undefined;
    try {
      if (lifecycle.draining) res.setHeader('Connection', 'close');
      const text = raw?.toString('utf8');
      const screen = deps.screen;
      const large = screen !== undefined && raw !== undefined && raw.length >= screen.offloadBytes;
      // A large body goes to the worker only when it could be over the work limits; one that
      // provably is not is parsed once, here, as a small one is.
      if (large && text !== undefined && !provablyWithinLimits(text, work))
        pending = screenFirst(screen.pool, endpoint, raw, timeoutParam, res, started);
      else pending = judge(endpoint, text, timeoutParam, res, started, large);
    } catch (error) {
      failed(res, error);
    }
    if (pending === undefined) {
      inFlight[endpoint].dec();
      return;
    }
    return pending.then(
      () => inFlight[endpoint].dec(),
      (error: unknown) => {
        failed(res, error);
        inFlight[endpoint].dec();
      },
    );
  };
}
