import { DEFAULT_POLICY_SPEC } from './defaults.js';
import { tightest } from './merge.js';
import type { PolicySpec, PolicySpecInput } from './types.js';

/**
 * Holds the policy in force: the cluster policy plus per-namespace overrides. Every update
 * replaces whole immutable values, so a review that took a snapshot with `forNamespace` never
 * sees a half-applied policy.
 */
export class PolicyStore {
  #cluster: PolicySpec;
  #overrides = new Map<string, PolicySpecInput>();
  #effective = new Map<string, PolicySpec>();
  #loaded: boolean;

  constructor(cluster: PolicySpec = DEFAULT_POLICY_SPEC, loaded = true) {
    this.#cluster = cluster;
    this.#loaded = loaded;
  }

  /** False until a first policy has been installed; readiness waits on it. */
  get loaded(): boolean {
    return this.#loaded;
  }

  get cluster(): PolicySpec {
    return this.#cluster;
  }

  setCluster(spec: PolicySpec): void {
    this.#cluster = spec;
    this.#loaded = true;
    this.#effective = new Map();
  }

  setNamespaceOverride(namespace: string, override: PolicySpecInput | undefined): void {
    if (override === undefined) this.#overrides.delete(namespace);
    else this.#overrides.set(namespace, override);
    this.#effective.delete(namespace);
  }

  namespaceOverride(namespace: string): PolicySpecInput | undefined {
    return this.#overrides.get(namespace);
  }

  /** The effective policy for a namespace (cluster-scoped objects pass `undefined`). */
  forNamespace(namespace: string | undefined): PolicySpec {
    const cluster = this.#cluster;
    if (namespace === undefined || cluster.namespaceOverrides === 'off') return cluster;
    const override = this.#overrides.get(namespace);
    if (override === undefined) return cluster;
    let spec = this.#effective.get(namespace);
    if (spec === undefined) {
      spec = tightest(cluster, override);
      this.#effective.set(namespace, spec);
    }
    return spec;
  }
}
