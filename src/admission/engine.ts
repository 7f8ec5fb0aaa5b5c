import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import type { PolicyStore } from '../policy/store.js';
import { staticClusterView, type ClusterView } from './cluster-view.js';
import type { DecodedReview } from './decode.js';
import { createDraft, finishDraft } from './draft.js';
import { resolveMesh } from './mesh-resolution.js';
import { diffAndVerify, encodePatch, type JsonPatch, type PatchResult } from './patch.js';
import type { KindRef, Mutator, Note, RuleContext, RuleSet, Validator, Violation } from './rule.js';
import type { AdmissionRequest, AdmissionResponse, AdmissionReview, Endpoint } from './types.js';
import type { KubeObject } from '../k8s/objects.js';
import { toWarning } from './warnings.js';

/** The subset of a pino logger the engine uses, so tests can pass a recorder. */
export interface EngineLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

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
  readonly timedOut?: boolean;
}

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
  readonly onTimeout?: { readonly mutate: 'allow' | 'deny'; readonly validate: 'allow' | 'deny' };
  /** Diff and verification of mutations; replaceable in tests to exercise the refusal path. */
  readonly diff?: (original: KubeObject, mutated: KubeObject) => PatchResult;
}

export interface ReviewOptions {
  /** Milliseconds the rules may take before the timeout answer is given. */
  readonly timeoutMs?: number;
}

const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

/** The admission engine: AdmissionReview in, AdmissionReview out. No HTTP in here. */
export class AdmissionEngine {
  readonly #mutators: Map<string, Mutator[]>;
  readonly #validators: Map<string, Validator[]>;
  readonly #policy: PolicyStore;
  readonly #cluster: ClusterView;
  readonly #installNamespace: string;
  readonly #log: EngineLogger;
  readonly #clock: () => Date;
  readonly #onTimeout: NonNullable<EngineOptions['onTimeout']>;
  readonly #diff: NonNullable<EngineOptions['diff']>;

  constructor(options: EngineOptions) {
    // Index rules by group/kind once, so dispatch is a map lookup per review.
    this.#mutators = indexByKind(options.rules.mutators);
    this.#validators = indexByKind(options.rules.validators);
    this.#policy = options.policy;
    this.#cluster = options.cluster ?? staticClusterView();
    this.#installNamespace = options.installNamespace ?? 'meshwarden-system';
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? (() => new Date());
    this.#onTimeout = options.onTimeout ?? { mutate: 'allow', validate: 'deny' };
    this.#diff = options.diff ?? diffAndVerify;
  }

  get policy(): PolicyStore {
    return this.#policy;
  }

  /** Does any rule look at this kind on this endpoint? Cheap; used to skip work early. */
  handles(endpoint: Endpoint, group: string, kind: string): boolean {
    const index = endpoint === 'mutate' ? this.#mutators : this.#validators;
    return index.has(`${group}/${kind}`);
  }

  review(
    decoded: DecodedReview,
    endpoint: Endpoint,
    options: ReviewOptions = {},
  ): Promise<ReviewOutcome> {
    const { request } = decoded;
    const run = (endpoint === 'mutate' ? this.#mutate(decoded) : this.#validate(decoded)).catch(
      (error: unknown) => {
        // A throwing rule is a bug or an outage, never a decision: answer as the failure policy would.
        this.#log.error({ uid: request.uid, err: error }, 'rule failed');
        return this.#timedOut(decoded, endpoint, 'an internal error');
      },
    );
    const timeoutMs = options.timeoutMs;
    if (timeoutMs === undefined) return run;
    // One promise and one timer per review (Promise.race with a timeout promise cost ~2 µs more).
    return new Promise<ReviewOutcome>((resolve) => {
      const timer = setTimeout(
        () => resolve(this.#timedOut(decoded, endpoint)),
        Math.max(0, timeoutMs),
      );
      void run.then((outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  #context(request: AdmissionRequest): RuleContext {
    const policy = this.#policy.forNamespace(request.namespace);
    const labels =
      request.namespace === undefined
        ? undefined
        : this.#cluster.namespaceLabels(request.namespace);
    return {
      request,
      policy,
      clusterPolicy: this.#policy.cluster,
      mesh: resolveMesh(policy, labels, this.#cluster),
      namespaceLabels: labels,
      cluster: this.#cluster,
      installNamespace: this.#installNamespace,
      now: this.#clock(),
      memo: reviewMemo(),
    };
  }

  #excluded(ctx: RuleContext): boolean {
    const ns = ctx.request.namespace;
    if (ns === undefined) return false;
    if (ctx.policy.excludedNamespaces.includes(ns)) return true;
    return ctx.namespaceLabels?.[NAMESPACE_ENFORCE_LABEL] === 'disabled';
  }

  #applicable<R extends Mutator | Validator>(
    index: Map<string, R[]>,
    request: AdmissionRequest,
    ctx: RuleContext,
  ): R[] {
    const candidates = index.get(`${request.kind.group}/${request.kind.kind}`);
    if (!candidates) return [];
    const excluded = this.#excluded(ctx);
    const sub = request.subResource;
    return candidates.filter(
      (r) =>
        (sub === undefined || r.subResources?.includes(sub) === true) &&
        r.operations.includes(request.operation) &&
        (!excluded || r.ignoresExclusions === true) &&
        versionMatches(r.kinds, request),
    );
  }

  async #mutate(decoded: DecodedReview): Promise<ReviewOutcome> {
    const { request } = decoded;
    const original = request.object;
    // No patch without an object: on DELETE and CONNECT the API server rejects any patch.
    if (
      original === null ||
      request.operation === 'DELETE' ||
      request.operation === 'CONNECT' ||
      !this.handles('mutate', request.kind.group, request.kind.kind)
    ) {
      return this.#respond(decoded, { allowed: true }, 'allowed', [], original, []);
    }
    const ctx = this.#context(request);
    const mutators = this.#applicable(this.#mutators, request, ctx);
    if (mutators.length === 0) {
      return this.#respond(decoded, { allowed: true }, 'allowed', [], original, []);
    }
    // Copied as mutators read it; what they never touch stays shared with the original.
    const draft = createDraft(original);
    const notes: Note[] = [];
    for (const mutator of mutators) {
      const produced = await mutator.mutate(draft, ctx);
      if (produced) notes.push(...produced);
    }
    finishDraft(draft);
    const warnings: string[] = [];
    const audit: Record<string, string> = {};
    this.#collectNotes(request, notes, warnings, audit);
    const result = this.#diff(original, draft);
    if (!result.ok) {
      this.#log.error(
        { uid: request.uid, error: result.error, patch: result.patch },
        'generated patch does not apply to the object as received; sending none',
      );
      warnings.push(
        toWarning(`meshwarden skipped its changes: the patch did not apply (${result.error})`),
      );
      return this.#respond(
        decoded,
        withExtras({ allowed: true }, warnings, audit),
        'warned',
        [],
        original,
        [],
      );
    }
    if (result.patch.length === 0) {
      return this.#respond(
        decoded,
        withExtras({ allowed: true }, warnings, audit),
        warnings.length > 0 ? 'warned' : 'allowed',
        [],
        original,
        [],
      );
    }
    const response: AdmissionResponse = {
      uid: request.uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: encodePatch(result.patch),
    };
    return this.#respond(
      decoded,
      withExtras(response, warnings, audit),
      'patched',
      result.patch,
      draft,
      [],
    );
  }

  async #validate(decoded: DecodedReview): Promise<ReviewOutcome> {
    const { request } = decoded;
    // DELETE carries no new object; the rules judge objects being written.
    const object = request.object;
    // No rule for the kind: answer before taking a policy snapshot and resolving the mesh.
    if (!object || !this.handles('validate', request.kind.group, request.kind.kind)) {
      return this.#respond(decoded, { allowed: true }, 'allowed', [], object, []);
    }
    const ctx = this.#context(request);
    const validators = this.#applicable(this.#validators, request, ctx);
    if (validators.length === 0) {
      return this.#respond(decoded, { allowed: true }, 'allowed', [], object, []);
    }
    const warnings: string[] = [];
    const audit: Record<string, string> = {};
    const all: Violation[] = [];
    for (const validator of validators) {
      const { violations, notes } = await validator.validate(object, ctx);
      all.push(...violations);
      if (notes) this.#collectNotes(request, notes, warnings, audit);
      const denials = violations.filter((v) => v.enforcement === 'enforce');
      if (denials.length > 0) {
        // First denial wins: later rules are not run, their findings would not be read.
        const message = denialMessage(denials);
        return this.#respond(
          decoded,
          withExtras(
            { allowed: false, status: { code: 403, reason: 'Forbidden', message } },
            warnings,
            audit,
          ),
          'denied',
          [],
          object,
          all,
          validator.name,
        );
      }
      for (const v of violations) {
        if (v.enforcement === 'warn') warnings.push(toWarning(v.summary ?? v.message));
        else this.#audit(request, v.rule, v.message, audit);
      }
    }
    return this.#respond(
      decoded,
      withExtras({ allowed: true }, warnings, audit),
      warnings.length > 0 ? 'warned' : 'allowed',
      [],
      object,
      all,
    );
  }

  #collectNotes(
    request: AdmissionRequest,
    notes: readonly Note[],
    warnings: string[],
    audit: Record<string, string>,
  ): void {
    for (const note of notes) {
      if (note.warning !== undefined) warnings.push(toWarning(note.warning));
      if (note.audit !== undefined) this.#audit(request, note.rule, note.audit, audit);
    }
  }

  #audit(
    request: AdmissionRequest,
    rule: string,
    message: string,
    audit: Record<string, string>,
  ): void {
    audit[rule] = audit[rule] === undefined ? message : `${audit[rule]}; ${message}`;
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

  #timedOut(decoded: DecodedReview, endpoint: Endpoint, cause = 'the deadline'): ReviewOutcome {
    const { request } = decoded;
    const decision = this.#onTimeout[endpoint];
    this.#log.warn(
      { uid: request.uid, endpoint, decision },
      `rules did not finish before ${cause}`,
    );
    const text = `meshwarden could not finish its checks before ${cause}`;
    const response: AdmissionResponse =
      decision === 'allow'
        ? { uid: request.uid, allowed: true, warnings: [toWarning(`${text}; allowed unchecked`)] }
        : {
            uid: request.uid,
            allowed: false,
            status: { code: 403, reason: 'Forbidden', message: `${text}; retry the request` },
          };
    return {
      review: { apiVersion: decoded.apiVersion, kind: 'AdmissionReview', response },
      decision: decision === 'allow' ? 'warned' : 'denied',
      patch: [],
      object: request.object,
      violations: [],
      timedOut: true,
    };
  }

  #respond(
    decoded: DecodedReview,
    partial: Omit<AdmissionResponse, 'uid'>,
    decision: Decision,
    patch: JsonPatch,
    object: KubeObject | null,
    violations: readonly Violation[],
    deniedBy?: string,
  ): ReviewOutcome {
    const response: AdmissionResponse = { uid: decoded.request.uid, ...partial };
    return {
      review: { apiVersion: decoded.apiVersion, kind: 'AdmissionReview', response },
      decision,
      patch,
      object,
      violations,
      ...(deniedBy === undefined ? {} : { deniedBy }),
    };
  }
}

function indexByKind<R extends { kinds: readonly KindRef[] }>(
  rules: readonly R[],
): Map<string, R[]> {
  const index = new Map<string, R[]>();
  for (const rule of rules) {
    for (const kind of rule.kinds) {
      const key = `${kind.group}/${kind.kind}`;
      const list = index.get(key) ?? [];
      if (!list.includes(rule)) list.push(rule);
      index.set(key, list);
    }
  }
  return index;
}

function versionMatches(kinds: readonly KindRef[], request: AdmissionRequest): boolean {
  return kinds.some(
    (k) =>
      k.group === request.kind.group &&
      k.kind === request.kind.kind &&
      (k.versions === undefined || k.versions.includes(request.kind.version)),
  );
}

function withExtras(
  response: Omit<AdmissionResponse, 'uid'>,
  warnings: readonly string[],
  audit: Record<string, string>,
): Omit<AdmissionResponse, 'uid'> {
  const unique = [...new Set(warnings)];
  return {
    ...response,
    ...(unique.length > 0 ? { warnings: unique } : {}),
    ...(Object.keys(audit).length > 0 ? { auditAnnotations: audit } : {}),
  };
}

function denialMessage(denials: readonly Violation[]): string {
  if (denials.length === 1) return denials[0]?.message ?? '';
  return `${denials.length} problems:\n${denials.map((d) => `- ${d.message}`).join('\n')}`;
}

/** A memo that lives as long as one review; its maps are made on first use. */
function reviewMemo(): RuleContext['memo'] {
  let byObject: WeakMap<object, Map<string, unknown>> | undefined;
  return <T>(object: object, key: string, compute: () => T): T => {
    byObject ??= new WeakMap();
    let values = byObject.get(object);
    if (values === undefined) {
      values = new Map();
      byObject.set(object, values);
    }
    if (values.has(key)) return values.get(key) as T;
    const value = compute();
    values.set(key, value);
    return value;
  };
}
