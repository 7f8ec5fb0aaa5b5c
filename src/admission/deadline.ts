import type { DecodedReview } from './decode.js';
import { outcome, type ReviewOutcome } from './outcome.js';
import { allowed, denied, withWarnings } from './response.js';
import { toWarning } from './warnings.js';

/** What to answer when the rules cannot: each webhook's failurePolicy, allow or deny. */
export type FailureAnswer = 'allow' | 'deny';

/**
 * Resolves with `run`, or with `late()` once `timeoutMs` has passed first. One promise and one
 * timer per review (Promise.race with a timeout promise cost about 2 µs more).
 */
export function withDeadline<T>(
  run: Promise<T>,
  timeoutMs: number | undefined,
  late: () => T,
): Promise<T> {
  if (timeoutMs === undefined) return run;
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(late()), Math.max(0, timeoutMs));
    void run.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * The answer when the rules did not finish (`cause`: the deadline, an internal error), as the
 * failure policy would have it: allowed unchecked with a warning, or refused with a retry hint.
 */
export function failurePolicyOutcome(
  decoded: DecodedReview,
  answer: FailureAnswer,
  cause: string,
): ReviewOutcome {
  const { request } = decoded;
  const text = `meshwarden could not finish its checks before ${cause}`;
  const response =
    answer === 'allow'
      ? withWarnings(allowed(request.uid), [toWarning(`${text}; allowed unchecked`)])
      : denied(request.uid, `${text}; retry the request`);
  return outcome(decoded, response, answer === 'allow' ? 'warned' : 'denied', {
    object: request.object,
    timedOut: true,
  });
}
