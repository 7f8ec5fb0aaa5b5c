import type { MeshId } from '../mesh/ids.js';

export const ENFORCEMENTS = ['audit', 'warn', 'enforce'] as const;
/** Ordered from loosest to strictest: the index is the strictness. */
export type Enforcement = (typeof ENFORCEMENTS)[number];

export const VERSION_DEFAULTS = ['none', 'image-tag', 'name-suffix'] as const;
export type VersionDefault = (typeof VERSION_DEFAULTS)[number];

/**
 * Where the workload rules enforce: `mesh` (namespaces that take part in a mesh, or opted in with
 * `meshwarden.io/enforce: enabled`; elsewhere they only audit) or `all` (every namespace but the
 * excluded ones). Ordered from loosest to strictest.
 */
export const WORKLOAD_SCOPES = ['mesh', 'all'] as const;
export type WorkloadScope = (typeof WORKLOAD_SCOPES)[number];

export const NAMESPACE_OVERRIDE_MODES = ['off', 'tighten-only'] as const;
export type NamespaceOverrideMode = (typeof NAMESPACE_OVERRIDE_MODES)[number];

export type MeshSetting = 'auto' | MeshId;

/** Controllers whose route writes the weight-shift guard verifies instead of judging as a person's. */
export const TRUSTED_CONTROLLER_KINDS = ['flagger', 'argo-rollouts'] as const;
export type TrustedControllerKind = (typeof TRUSTED_CONTROLLER_KINDS)[number];

/** One trusted controller: its kind and its exact ServiceAccount, `namespace/name`. */
export interface TrustedController {
  readonly kind: TrustedControllerKind;
  readonly serviceAccount: string;
}

/** A MeshPolicy spec with every default filled in: what rules read. */
export interface PolicySpec {
  readonly mesh: MeshSetting;
  readonly fallbackMesh: MeshId;
  readonly enforcement: Enforcement;
  readonly excludedNamespaces: readonly string[];
  readonly workloadScope: WorkloadScope;
  readonly sidecarInjection: { readonly enabled: boolean };
  readonly versionLabels: {
    readonly required: boolean;
    readonly enforcement: Enforcement;
    readonly default: VersionDefault;
  };
  readonly weightShift: {
    readonly enforcement: Enforcement;
    readonly maxStepWeight: number;
    /** What all backends but the stable one may gain together; never below maxStepWeight's effect. */
    readonly maxTotalStepWeight: number;
    readonly maxCanaryWeight: number;
    /** The highest share all backends but the stable one may hold together; never below maxCanaryWeight's effect. */
    readonly maxTotalCanaryWeight: number;
    readonly minStepIntervalSeconds: number;
    readonly overrideGroups: readonly string[];
    readonly trustedControllers: readonly TrustedController[];
  };
  readonly namespaceOverrides: NamespaceOverrideMode;
}

/** A policy spec as written: every key optional (a namespace override usually sets only a few). */
export interface PolicySpecInput {
  mesh?: MeshSetting;
  fallbackMesh?: MeshId;
  enforcement?: Enforcement;
  excludedNamespaces?: string[];
  workloadScope?: WorkloadScope;
  sidecarInjection?: { enabled?: boolean };
  versionLabels?: { required?: boolean; enforcement?: Enforcement; default?: VersionDefault };
  weightShift?: {
    enforcement?: Enforcement;
    maxStepWeight?: number;
    maxTotalStepWeight?: number;
    maxCanaryWeight?: number;
    maxTotalCanaryWeight?: number;
    minStepIntervalSeconds?: number;
    overrideGroups?: string[];
    trustedControllers?: TrustedController[];
  };
  namespaceOverrides?: NamespaceOverrideMode;
}

export interface PolicyDocument {
  apiVersion: 'meshwarden.io/v1alpha1';
  kind: 'MeshPolicy';
  metadata?: Record<string, unknown>;
  spec?: PolicySpecInput;
}

/** One problem in a policy, located as precisely as the input allows. */
export interface PolicyError {
  /** Dotted key path, e.g. `spec.weightShift.maxStepWeight`. Empty for the document itself. */
  readonly key: string;
  readonly message: string;
  /** 1-based line in the source text, when the source was YAML text. */
  readonly line?: number;
}

export const POLICY_API_VERSION = 'meshwarden.io/v1alpha1';
export const POLICY_KIND = 'MeshPolicy';
/** Name of the ConfigMap holding a policy, both in the install namespace and in workload namespaces. */
export const POLICY_CONFIGMAP_NAME = 'meshwarden-policy';
export const POLICY_CONFIGMAP_KEY = 'policy.yaml';
