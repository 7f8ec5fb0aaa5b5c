import type { KubeObject } from '../k8s/objects.js';
import type { DecodedReview } from './decode.js';
import type { JsonPatch } from './patch.js';
import { reviewOf, withAudit, withWarnings } from './response.js';
import type { Note, PassReason, Violation } from './rule.js';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview } from './types.js';
import { toWarning } from './warnings.js';

/** The subset of a pino logger the engine uses, so tests can pass a recorder. */
export interface EngineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

export type Decision = 'allowed' | 'patched' | 'warned' | 'denied';

/** What happened to one review: the wire response plus what the CLI, logs and metrics need. */
export interface ReviewOutcome {
  readonly review: AdmissionReview;
  readonly decision: Decision;
  readonly patch: JsonPatch;
  /** The object after the patch (mutate) or the object as received (validate). */
  readonly object: KubeObject | null;
  readonly violations: readonly Violation[];
  /** The rule that denied, when one did. */
  readonly deniedBy?: string;
  /** Why rules let the object through where their checks would have judged it (see Note.pass). */
  readonly passed?: readonly PassReason[];
  readonly timedOut?: boolean;
  /** Did any rule look at the object? False means it passed unchecked, for `skipped`. */
  readonly handled: boolean;
  /** Why no rule looked at the object (kind not checked, excluded namespace, ...). */
  readonly skipped?: string;
}

/** What an outcome carries besides the response; absent fields are empty. */
export interface OutcomeDetails {
  readonly object: KubeObject | null;
  readonly patch?: JsonPatch;
  readonly violations?: readonly Violation[];
  readonly deniedBy?: string;
  readonly passed?: readonly PassReason[];
  readonly timedOut?: boolean;
  /** Set when no rule looked at the object: why. */
  readonly skipped?: string;
}

const NO_PATCH: JsonPatch = [];
const NO_VIOLATIONS: readonly Violation[] = [];

export function outcome(
  decoded: DecodedReview,
  response: AdmissionResponse,
  decision: Decision,
  details: OutcomeDetails,
): ReviewOutcome {
  return {
    review: reviewOf(decoded.apiVersion, response),
    decision,
    patch: details.patch ?? NO_PATCH,
    object: details.object,
    violations: details.violations ?? NO_VIOLATIONS,
    ...(details.deniedBy === undefined ? {} : { deniedBy: details.deniedBy }),
    ...(details.passed === undefined || details.passed.length === 0
      ? {}
      : { passed: details.passed }),
    ...(details.timedOut === undefined ? {} : { timedOut: details.timedOut }),
    handled: details.skipped === undefined,
    ...(details.skipped === undefined ? {} : { skipped: details.skipped }),
  };
}

/**
 * The warnings and audit annotations gathered over one review. Audit texts are logged as they
 * arrive, so the log names the object even when the review is later denied.
 */
export class Findings {
  readonly warnings: string[] = [];
  /** Pass reasons, also recorded as audit annotations `passed: <reason>`. */
  readonly passed: PassReason[] = [];
  readonly #audit: Record<string, string> = {};
  readonly #request: AdmissionRequest;
  readonly #log: EngineLogger;

  constructor(request: AdmissionRequest, log: EngineLogger) {
    this.#request = request;
    this.#log = log;
  }

  warn(text: string): void {
    this.warnings.push(toWarning(text));
  }

  notes(notes: readonly Note[]): void {
    for (const note of notes) {
      if (note.warning !== undefined) this.warn(note.warning);
      if (note.audit !== undefined) this.audit(note.rule, note.audit);
      if (note.pass !== undefined) {
        this.passed.push({ rule: note.rule, reason: note.pass });
        this.audit(note.rule, `passed: ${note.pass}`);
      }
    }
  }

  /** Non-denying violations: `warn` becomes a warning, `audit` an annotation. */
  violations(violations: readonly Violation[]): void {
    for (const v of violations) {
      if (v.enforcement === 'warn') this.warn(v.summary ?? v.message);
      else if (v.enforcement === 'audit') this.audit(v.rule, v.message);
    }
  }

  audit(rule: string, message: string): void {
    const previous = this.#audit[rule];
    this.#audit[rule] = previous === undefined ? message : `${previous}; ${message}`;
    const request = this.#request;
    this.#log.info(
      {
        uid: request.uid,
        rule,
        kind: request.kind.kind,
        namespace: request.namespace,
        name: request.name ?? request.object?.metadata?.name,
        audit: message,
      },
      'audit',
    );
  }

  /** The response with what was gathered added. */
  apply(response: AdmissionResponse): AdmissionResponse {
    return withAudit(withWarnings(response, this.warnings), this.#audit);
  }
}
