import type { MeshId } from '../mesh/ids.js';
import type { Enforcement, PolicySpec } from '../policy/types.js';
import type { ClusterView } from './cluster-view.js';
import type { AdmissionRequest, Operation } from './types.js';
import type { KindRef, KubeObject } from '../k8s/objects.js';

/** Kept here for the rule modules that import it with the other rule types. */
export type { KindRef };

export interface RuleContext {
  readonly request: AdmissionRequest;
  /** The effective policy for the request's namespace, taken once per review. */
  readonly policy: PolicySpec;
  /** The install-namespace policy, before any namespace override. */
  readonly clusterPolicy: PolicySpec;
  /** The mesh in force for the request's namespace. */
  readonly mesh: MeshId;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly cluster: ClusterView;
  /** Namespace meshwarden is installed in (where the cluster policy ConfigMap lives). */
  readonly installNamespace: string;
  readonly now: Date;
  /**
   * Computes a value about `object` once per review and shares it between rules (two validators
   * reading the same routes). Only for objects no rule changes during the review: not drafts.
   */
  memo<T>(object: object, key: string, compute: () => T): T;
}

/** One policy finding. Rules return these; the engine decides what each one means. */
export interface Violation {
  /** Rule name, e.g. `version-labels`. */
  readonly rule: string;
  /** Where in the object, as a dotted path, e.g. `spec.template.metadata.labels`. */
  readonly field: string;
  /** What is wrong and how to fix it, addressed to whoever ran the apply. */
  readonly message: string;
  readonly enforcement: Enforcement;
  /** A short form of the message (at most 120 characters) for warnings; derived when absent. */
  readonly summary?: string;
}

/** Extra facts a rule reports even when it allows (audit records, notices). */
export interface Note {
  readonly rule: string;
  /** Shown to the user as a warning when set. */
  readonly warning?: string;
  /** Recorded as an audit annotation `<rule>` and a log line when set. */
  readonly audit?: string;
  /**
   * Why the rule let the object through although its check would otherwise have judged it (a
   * trusted controller, an override, a rollback to stable, targeted traffic). Shown by `review`
   * as `passed: ...` and recorded as an audit annotation.
   */
  readonly pass?: string;
}

/** A pass reason as the engine reports it: which rule, and why. */
export interface PassReason {
  readonly rule: string;
  readonly reason: string;
}

interface RuleBase {
  readonly name: string;
  readonly kinds: readonly KindRef[];
  readonly operations: readonly Operation[];
  /** Runs even in excluded namespaces (used for meshwarden's own policy ConfigMaps). */
  readonly ignoresExclusions?: boolean;
  /**
   * Why this rule leaves the object of this review alone (a mesh control-plane namespace, ...),
   * or undefined when it looks at it. A skipped rule does not run.
   */
  skipReason?(ctx: RuleContext): string | undefined;
  /** Subresources the rule also judges (e.g. `status`); requests for others never reach it. */
  readonly subResources?: readonly string[];
}

export interface Mutator extends RuleBase {
  /**
   * Changes `draft` in place: a copy of the object, made as it is read (nested objects are copied
   * on first access; see admission/draft.ts), so changing it never touches the request. Must be
   * idempotent.
   */
  mutate(
    draft: KubeObject,
    ctx: RuleContext,
  ): void | readonly Note[] | Promise<void | readonly Note[]>;
}

export interface Validator extends RuleBase {
  validate(object: KubeObject, ctx: RuleContext): ValidationResult | Promise<ValidationResult>;
}

export interface ValidationResult {
  readonly violations: readonly Violation[];
  readonly notes?: readonly Note[];
}

/** Everything the engine runs, in order: mutators on /mutate, validators on /validate. */
export interface RuleSet {
  readonly mutators: readonly Mutator[];
  readonly validators: readonly Validator[];
  /** Kinds no rule looks at on purpose, with the reason (Jobs: a sidecar keeps them running). */
  readonly skippedKinds?: readonly SkippedKind[];
}

export interface SkippedKind {
  readonly group: string;
  readonly kind: string;
  readonly reason: string;
}

export const NO_FINDINGS: ValidationResult = Object.freeze({ violations: [] });
