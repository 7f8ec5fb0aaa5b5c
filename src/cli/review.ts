import { splitApiVersion } from '../util/api-version.js';
import { randomUUID } from 'node:crypto';
import { staticClusterView, type StaticClusterFacts } from '../admission/cluster-view.js';
import {
  decodeAdmissionReview,
  type DecodedReview,
  type DecodeResult,
} from '../admission/decode.js';
import { AdmissionEngine, type ReviewOutcome } from '../admission/engine.js';
import type { JsonPatch } from '../admission/patch.js';
import type { AdmissionRequest, Operation, UserInfo } from '../admission/types.js';
import type { Enforcement } from '../policy/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { PolicyStore } from '../policy/store.js';
import type { PolicySpec } from '../policy/types.js';
import { defaultRules } from '../rules/index.js';
import { isRecord } from '../util/objects.js';
import type { InputError, SourcedObject } from './manifests.js';

/** One reviewed object, in the shape `-o json` prints (CONTRACT §6). */
export interface ReviewResult {
  readonly kind: string;
  /** `group/version` (`v1` for the core group): with `kind`, which kind this is. */
  readonly apiVersion: string;
  readonly namespace: string | null;
  readonly name: string;
  readonly operation: Operation;
  readonly allowed: boolean;
  readonly message: string | null;
  readonly warnings: string[];
  readonly patch: JsonPatch;
  /**
   * `skipped`: no rule looked at the object; `audit`: a rule recorded something without blocking
   * or changing it; `allowed` and `denied` as `allowed` says.
   */
  readonly result: ReviewDecision;
  /** Why it was skipped, what was recorded, or which rule denied; null when allowed. */
  readonly reason: string | null;
  /** Audit annotations the webhooks would record, by rule. */
  readonly audit: Record<string, string>;
  /** Why rules let the object through where their checks would have judged it. */
  readonly passed: { readonly rule: string; readonly reason: string }[];
  /** What the rules found, denying or not, each with the line of its field where known. */
  readonly violations: readonly ReviewViolation[];
  /** `file:line` of the object. */
  readonly source: string;
}

export interface ReviewViolation {
  readonly rule: string;
  readonly field: string;
  readonly enforcement: Enforcement;
  readonly message: string;
  /** The short form given as a warning, when the rule has one. */
  readonly summary?: string;
  /** `file:line` of the field, or of the object when the field is not in the file. */
  readonly source: string;
}

export type ReviewDecision = 'allowed' | 'denied' | 'skipped' | 'audit';

export interface OfflineReviewerOptions {
  readonly policy: PolicySpec;
  readonly cluster?: StaticClusterFacts;
  readonly user?: UserInfo;
  readonly installNamespace?: string;
}

/** The namespace kubectl would use for a namespaced object without one. */
const DEFAULT_NAMESPACE = 'default';

/**
 * Runs the server's own engine over objects offline: mutate, then validate the mutated object,
 * exactly as the API server would call the two webhooks. Objects in `old` matched by group, kind,
 * namespace and name turn a review into an UPDATE.
 */
export class OfflineReviewer {
  readonly #engine: AdmissionEngine;
  readonly #user: UserInfo;

  constructor(options: OfflineReviewerOptions) {
    this.#engine = new AdmissionEngine({
      rules: defaultRules(),
      policy: new PolicyStore(options.policy),
      cluster: staticClusterView(options.cluster),
      installNamespace: options.installNamespace ?? 'meshwarden-system',
    });
    this.#user = options.user ?? {
      username: 'meshwarden-review',
      groups: ['system:authenticated'],
    };
  }

  async reviewAll(
    objects: readonly SourcedObject[],
    old: readonly SourcedObject[] = [],
  ): Promise<{ results: ReviewResult[]; errors: InputError[] }> {
    const oldByKey = new Map(old.map((o) => [objectKey(o.object), o.object]));
    const results: ReviewResult[] = [];
    const errors: InputError[] = [];
    for (const item of objects) {
      const result = await this.review(item, oldByKey.get(objectKey(item.object)));
      if ('message' in result && 'file' in result) errors.push(result);
      else results.push(result);
    }
    return { results, errors };
  }

  /** Reviews one object; an embedded AdmissionReview that cannot be read is an input error. */
  async review(item: SourcedObject, oldObject?: KubeObject): Promise<ReviewResult | InputError> {
    const embedded = embeddedRequest(item.object);
    if (embedded && !embedded.ok)
      return { file: item.file, line: item.line, message: embedded.message };
    if (
      !embedded &&
      (typeof item.object.kind !== 'string' || typeof item.object.apiVersion !== 'string')
    ) {
      return {
        file: item.file,
        line: item.line,
        message: 'document has no apiVersion and kind (not a Kubernetes object)',
      };
    }
    const request = embedded ? embedded.review.request : this.#requestFor(item.object, oldObject);
    // An embedded request's object sits below `request.object` (or `object`) in the file.
    const prefix = !embedded
      ? ''
      : item.object.kind === 'AdmissionReview'
        ? 'request.object.'
        : 'object.';
    const lineOf = (field: string) => item.lineOf?.(`${prefix}${field}`);
    const source = `${item.file}:${item.line}`;
    const decoded: DecodedReview = { apiVersion: 'admission.k8s.io/v1', request };
    const mutated = await this.#engine.review(decoded, 'mutate');
    const object = mutated.object;
    const validated = await this.#engine.review(
      { apiVersion: decoded.apiVersion, request: { ...request, object } },
      'validate',
    );
    const response = validated.review.response;
    const warnings = [
      ...(item.yamlWarnings ?? []),
      ...(mutated.review.response?.warnings ?? []),
      ...(response?.warnings ?? []),
    ];
    const audit = { ...mutated.review.response?.auditAnnotations, ...response?.auditAnnotations };
    const allowed = response?.allowed ?? false;
    const [result, reason] = decide(allowed, mutated, validated, audit);
    const { group, version } = request.kind;
    return {
      kind: request.kind.kind,
      apiVersion: group === '' ? version : `${group}/${version}`,
      namespace: request.namespace ?? null,
      name: request.name ?? object?.metadata?.name ?? request.oldObject?.metadata?.name ?? '',
      operation: request.operation,
      allowed,
      message: response?.allowed === false ? (response.status?.message ?? null) : null,
      warnings: [...new Set(warnings)],
      patch: mutated.patch,
      result,
      reason,
      audit,
      passed: [...(validated.passed ?? [])],
      violations: [...mutated.violations, ...validated.violations].map((v) => ({
        rule: v.rule,
        field: v.field,
        enforcement: v.enforcement,
        message: v.message,
        ...(v.summary === undefined ? {} : { summary: v.summary }),
        source: `${item.file}:${lineOf(v.field) ?? item.line}`,
      })),
      source,
    };
  }

  #requestFor(object: KubeObject, oldObject: KubeObject | undefined): AdmissionRequest {
    const { group, version } = splitApiVersion(object.apiVersion ?? '');
    const namespace =
      object.metadata?.namespace ?? (isClusterScoped(object.kind) ? undefined : DEFAULT_NAMESPACE);
    const name = object.metadata?.name ?? object.metadata?.generateName ?? '';
    return {
      uid: randomUUID(),
      kind: { group, version, kind: object.kind ?? '' },
      ...(name === '' ? {} : { name }),
      ...(namespace === undefined ? {} : { namespace }),
      operation: oldObject ? 'UPDATE' : 'CREATE',
      userInfo: this.#user,
      // The engine works on copies; the caller's objects stay as read.
      object: withNamespace(object, namespace),
      oldObject: oldObject ? withNamespace(oldObject, namespace) : null,
      dryRun: false,
    };
  }
}

/** What one review came to, from the two webhook outcomes. */
function decide(
  allowed: boolean,
  mutated: ReviewOutcome,
  validated: ReviewOutcome,
  audit: Record<string, string>,
): [ReviewDecision, string | null] {
  if (!allowed)
    return ['denied', validated.deniedBy === undefined ? null : `denied by ${validated.deniedBy}`];
  if (!mutated.handled && !validated.handled)
    return ['skipped', validated.skipped ?? mutated.skipped ?? 'no rule applies'];
  const recorded = Object.entries(audit);
  if (mutated.patch.length === 0 && recorded.length > 0)
    return ['audit', recorded.map(([rule, text]) => `${rule}: ${text}`).join('\n')];
  return ['allowed', null];
}

/** group/kind/namespace/name: how `--old` objects are matched to new ones. */
export function objectKey(object: KubeObject): string {
  const { group } = splitApiVersion(object.apiVersion ?? '');
  const ns = object.metadata?.namespace ?? (isClusterScoped(object.kind) ? '' : DEFAULT_NAMESPACE);
  return `${group}/${object.kind ?? ''}/${ns}/${object.metadata?.name ?? ''}`;
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'StorageClass',
  'PriorityClass',
  'Mesh',
]);

function isClusterScoped(kind: string | undefined): boolean {
  return kind !== undefined && CLUSTER_SCOPED.has(kind);
}

function withNamespace(object: KubeObject, namespace: string | undefined): KubeObject {
  if (namespace === undefined || object.metadata?.namespace === namespace) return object;
  return { ...object, metadata: { ...object.metadata, namespace } };
}

/**
 * A manifest file may hold a whole AdmissionReview (as API servers send them) or only its
 * `request`; both are reviewed as the request they carry, read by the server's own decoder.
 */
export function embeddedRequest(value: KubeObject): DecodeResult | undefined {
  if (value.kind === 'AdmissionReview') return decodeAdmissionReview(value);
  if ('operation' in value && 'uid' in value && isRecord(value.kind)) {
    return decodeAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: value,
    });
  }
  return undefined;
}
