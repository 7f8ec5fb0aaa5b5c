import type { PolicyStore } from '../policy/store.js';
import type { KubeObject } from '../k8s/objects.js';
import { staticClusterView, type ClusterView } from './cluster-view.js';
import { excludedBecause, reviewContext, type ContextSources } from './context.js';
import { kindNotChecked, operationNotChecked } from './coverage.js';
import { failurePolicyOutcome, withDeadline, type FailureAnswer } from './deadline.js';
import type { DecodedReview } from './decode.js';
import { RuleIndex } from './dispatch.js';
import { createDraft, finishDraft } from './draft.js';
import {
  Findings,
  outcome,
  silentLogger,
  type EngineLogger,
  type ReviewOutcome,
} from './outcome.js';
import { diffAndVerify, type PatchResult } from './patch.js';
import { allowed, denied, patched } from './response.js';
import type {
  Mutator,
  Note,
  RuleSet,
  SkippedKind,
  ValidationResult,
  Validator,
  Violation,
} from './rule.js';
import type { Endpoint } from './types.js';

export type { Decision, EngineLogger, ReviewOutcome } from './outcome.js';

export interface EngineOptions {
  readonly rules: RuleSet;
  readonly policy: PolicyStore;
  readonly cluster?: ClusterView;
  readonly installNamespace?: string;
  readonly logger?: EngineLogger;
  readonly clock?: () => Date;
  /**
   * What to answer when rules do not finish before the API server's deadline, mirroring each
   * webhook's failurePolicy: mutating Ignore (allow unpatched), validating Fail (deny).
   */
  readonly onTimeout?: { readonly mutate: FailureAnswer; readonly validate: FailureAnswer };
  /** Diff and verification of mutations; replaceable in tests to exercise the refusal path. */
  readonly diff?: (original: KubeObject, mutated: KubeObject) => PatchResult;
}

export interface ReviewOptions {
  /** Milliseconds the rules may take before the timeout answer is given. */
  readonly timeoutMs?: number;
}

/**
 * The admission engine: AdmissionReview in, AdmissionReview out. No HTTP in here. It picks the
 * rules (dispatch), runs them, and builds the answer from response constructors.
 */
export class AdmissionEngine {
  readonly #mutators: RuleIndex<Mutator>;
  readonly #validators: RuleIndex<Validator>;
  readonly #policy: PolicyStore;
  readonly #sources: ContextSources;
  readonly #log: EngineLogger;
  readonly #onTimeout: NonNullable<EngineOptions['onTimeout']>;
  readonly #diff: NonNullable<EngineOptions['diff']>;
  readonly #skippedKinds: readonly SkippedKind[];

  constructor(options: EngineOptions) {
    this.#mutators = new RuleIndex(options.rules.mutators);
    this.#validators = new RuleIndex(options.rules.validators);
    this.#policy = options.policy;
    this.#sources = {
      policy: options.policy,
      cluster: options.cluster ?? staticClusterView(),
      installNamespace: options.installNamespace ?? 'meshwarden-system',
      clock: options.clock ?? (() => new Date()),
    };
    this.#log = options.logger ?? silentLogger;
    this.#onTimeout = options.onTimeout ?? { mutate: 'allow', validate: 'deny' };
    this.#diff = options.diff ?? diffAndVerify;
    this.#skippedKinds = options.rules.skippedKinds ?? [];
  }

  get policy(): PolicyStore {
    return this.#policy;
  }

  /** Does any rule look at this kind on this endpoint? Cheap; used to skip work early. */
  /** Every group and kind a rule of `endpoint` looks at. */
  handledKinds(endpoint: Endpoint): Iterable<{ readonly group: string; readonly kind: string }> {
    return (endpoint === 'mutate' ? this.#mutators : this.#validators).kinds();
  }

  handles(endpoint: Endpoint, group: string, kind: string): boolean {
    return (endpoint === 'mutate' ? this.#mutators : this.#validators).handles(group, kind);
  }

  review(
    decoded: DecodedReview,
    endpoint: Endpoint,
    options: ReviewOptions = {},
  ): Promise<ReviewOutcome> {
    return Promise.resolve(this.decide(decoded, endpoint, options));
  }

  /**
   * `review`, answered synchronously when every rule answers synchronously (all built-in rules
   * do): no promise and no deadline timer for such a review, since no timer could fire before
   * synchronous code ends. From the first rule that returns a promise on, the rest runs
   * asynchronously under the deadline, less the time already spent.
   */
  decide(
    decoded: DecodedReview,
    endpoint: Endpoint,
    options: ReviewOptions = {},
  ): ReviewOutcome | Promise<ReviewOutcome> {
    const started = options.timeoutMs === undefined ? 0 : performance.now();
    let result: ReviewOutcome | Promise<ReviewOutcome>;
    try {
      result = endpoint === 'mutate' ? this.#mutate(decoded) : this.#validate(decoded);
    } catch (error) {
      return this.#failed(decoded, endpoint, error);
    }
    if (!isThenable(result)) return result;
    const run = result.catch((error: unknown) => this.#failed(decoded, endpoint, error));
    const left =
      options.timeoutMs === undefined
        ? undefined
        : options.timeoutMs - (performance.now() - started);
    return withDeadline(run, left, () => this.#unfinished(decoded, endpoint, 'the deadline'));
  }

  /** A throwing rule is a bug or an outage, never a decision: answer as the failure policy would. */
  #failed(decoded: DecodedReview, endpoint: Endpoint, error: unknown): ReviewOutcome {
    this.#log.error({ uid: decoded.request.uid, err: error }, 'rule failed');
    return this.#unfinished(decoded, endpoint, 'an internal error');
  }

  #mutate(decoded: DecodedReview): ReviewOutcome | Promise<ReviewOutcome> {
    const { request } = decoded;
    const original = request.object;
    // No patch without an object: on DELETE and CONNECT the API server rejects any patch.
    if (original === null || request.operation === 'DELETE' || request.operation === 'CONNECT')
      return this.#unchecked(decoded, original, operationNotChecked(request.operation));
    if (!this.#mutators.handles(request.kind.group, request.kind.kind))
      return this.#unchecked(decoded, original, kindNotChecked(request, [], this.#skippedKinds));
    const ctx = reviewContext(request, this.#sources);
    const { rules: mutators, skipped } = this.#mutators.applicable(
      request,
      ctx,
      excludedBecause(ctx),
      this.#skippedKinds,
    );
    if (skipped !== undefined) return this.#unchecked(decoded, original, skipped);
    // Copied as mutators read it; what they never touch stays shared with the original.
    const draft = createDraft(original);
    const notes: Note[] = [];
    const run = (from: number): ReviewOutcome | Promise<ReviewOutcome> => {
      for (let i = from; i < mutators.length; i++) {
        const produced = mutators[i]!.mutate(draft, ctx);
        if (isThenable(produced))
          return produced.then((late) => {
            if (late) notes.push(...late);
            return run(i + 1);
          });
        if (produced) notes.push(...produced);
      }
      return this.#mutated(decoded, original, draft, notes);
    };
    return run(0);
  }

  #mutated(
    decoded: DecodedReview,
    original: KubeObject,
    draft: KubeObject,
    notes: readonly Note[],
  ): ReviewOutcome {
    const { request } = decoded;
    const mutated = finishDraft(draft);
    const findings = new Findings(request, this.#log);
    findings.notes(notes);
    const result = this.#diff(original, mutated);
    if (!result.ok) {
      this.#log.error(
        { uid: request.uid, error: result.error, patch: result.patch },
        'generated patch does not apply to the object as received; sending none',
      );
      findings.warn(`meshwarden skipped its changes: the patch did not apply (${result.error})`);
      return outcome(decoded, findings.apply(allowed(request.uid)), 'warned', {
        object: original,
      });
    }
    if (result.patch.length === 0) {
      const decision = findings.warnings.length > 0 ? 'warned' : 'allowed';
      return outcome(decoded, findings.apply(allowed(request.uid)), decision, {
        object: original,
      });
    }
    return outcome(decoded, findings.apply(patched(request.uid, result.patch)), 'patched', {
      object: mutated,
      patch: result.patch,
    });
  }

  #validate(decoded: DecodedReview): ReviewOutcome | Promise<ReviewOutcome> {
    const { request } = decoded;
    // DELETE carries no new object; the rules judge objects being written.
    const object = request.object;
    // No rule for the kind: answer before taking a policy snapshot and resolving the mesh.
    if (!object) return this.#unchecked(decoded, object, operationNotChecked(request.operation));
    if (!this.#validators.handles(request.kind.group, request.kind.kind))
      return this.#unchecked(decoded, object, kindNotChecked(request, [], this.#skippedKinds));
    const ctx = reviewContext(request, this.#sources);
    const { rules: validators, skipped } = this.#validators.applicable(
      request,
      ctx,
      excludedBecause(ctx),
      this.#skippedKinds,
    );
    if (skipped !== undefined) return this.#unchecked(decoded, object, skipped);
    const findings = new Findings(request, this.#log);
    const all: Violation[] = [];
    /** The answer once `validator` has judged, if it denied: later rules are not run. */
    const judged = (validator: Validator, result: ValidationResult): ReviewOutcome | undefined => {
      const { violations, notes } = result;
      all.push(...violations);
      if (notes) findings.notes(notes);
      const denials = violations.filter((v) => v.enforcement === 'enforce');
      if (denials.length > 0) {
        // First denial wins: later rules are not run, their findings would not be read.
        const response = findings.apply(denied(request.uid, denialMessage(denials)));
        return outcome(decoded, response, 'denied', {
          object,
          violations: all,
          deniedBy: validator.name,
          passed: findings.passed,
        });
      }
      findings.violations(violations);
      return undefined;
    };
    const run = (from: number): ReviewOutcome | Promise<ReviewOutcome> => {
      for (let i = from; i < validators.length; i++) {
        const validator = validators[i]!;
        const result = validator.validate(object, ctx);
        if (isThenable(result)) return result.then((late) => judged(validator, late) ?? run(i + 1));
        const denial = judged(validator, result);
        if (denial) return denial;
      }
      const decision = findings.warnings.length > 0 ? 'warned' : 'allowed';
      return outcome(decoded, findings.apply(allowed(request.uid)), decision, {
        object,
        violations: all,
        passed: findings.passed,
      });
    };
    return run(0);
  }

  /** No rule looked at the object: allowed unchanged, and why. */
  #unchecked(decoded: DecodedReview, object: KubeObject | null, skipped: string): ReviewOutcome {
    return outcome(decoded, allowed(decoded.request.uid), 'allowed', { object, skipped });
  }

  #unfinished(decoded: DecodedReview, endpoint: Endpoint, cause: string): ReviewOutcome {
    const answer = this.#onTimeout[endpoint];
    this.#log.warn(
      { uid: decoded.request.uid, endpoint, decision: answer },
      `rules did not finish before ${cause}`,
    );
    return failurePolicyOutcome(decoded, answer, cause);
  }
}

/** A rule's answer still to come (an async rule), as opposed to the answer itself. */
function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

function denialMessage(denials: readonly Violation[]): string {
  if (denials.length === 1) return denials[0]?.message ?? '';
  return `${denials.length} problems:\n${denials.map((d) => `- ${d.message}`).join('\n')}`;
}
