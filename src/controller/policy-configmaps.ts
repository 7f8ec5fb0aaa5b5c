import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { KubeObject } from '../k8s/objects.js';
import { formatPolicyErrors, policyFromConfigMapData } from '../policy/load.js';
import { looseningErrors } from '../policy/merge.js';
import type { PolicyStore } from '../policy/store.js';
import {
  POLICY_CONFIGMAP_KEY,
  POLICY_CONFIGMAP_NAME,
  type PolicyError,
  type PolicySpec,
  type PolicySpecInput,
} from '../policy/types.js';
import type { Metrics } from '../observability/metrics.js';
import { asRecord } from '../util/objects.js';
import type { EventRecorder } from './events.js';
import { Informer, type InformerOptions } from './informer.js';
import type { KubeClient } from './kube-client.js';

export interface PolicyConfigMapOptions {
  readonly client: KubeClient;
  readonly store: PolicyStore;
  readonly installNamespace: string;
  /** The policy in force when the install namespace has no (valid) ConfigMap. */
  readonly base: PolicySpec;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly events: EventRecorder;
  readonly informer: Omit<InformerOptions, 'logger'>;
  /** Called after the cluster policy changed (the mesh or fallbackMesh may have). */
  readonly onClusterPolicyChange?: () => void;
}

interface Problem {
  readonly message: string;
  readonly configMap: KubeObject;
}

/**
 * Policy from the `meshwarden-policy` ConfigMaps: the one in the install namespace is the
 * cluster policy, one in any other namespace overrides it there (tighten-only, when the cluster
 * policy says so). One informer over all namespaces, selected by name.
 *
 * An invalid ConfigMap never changes what is in force: the last valid policy stays (for the
 * cluster and per namespace), and the problem is logged, counted in
 * `meshwarden_policy_reload_errors_total` and recorded as an Event on the ConfigMap. Deleting
 * the install-namespace ConfigMap puts the base policy (`--policy` file or embedded defaults)
 * back in force; deleting a namespace's ConfigMap removes its override.
 */
export class PolicyConfigMaps {
  readonly #o: PolicyConfigMapOptions;
  readonly informer: Informer;
  #base: PolicySpec;
  /** The latest ConfigMap seen per namespace, valid or not. */
  readonly #latest = new Map<string, KubeObject>();
  readonly #problems = new Map<string, Problem>();
  /** The install-namespace ConfigMap currently in force (resourceVersion), if any. */
  #clusterFrom: string | undefined;
  #initialised = false;

  constructor(options: PolicyConfigMapOptions) {
    this.#o = options;
    this.#base = options.base;
    this.informer = new Informer(
      options.client,
      {
        name: `configmaps/${POLICY_CONFIGMAP_NAME}`,
        apiVersion: 'v1',
        kind: 'ConfigMap',
        path: '/api/v1/configmaps',
        fieldSelector: `metadata.name=${POLICY_CONFIGMAP_NAME}`,
      },
      { ...options.informer, logger: options.logger },
    );
    this.informer.on('add', (cm) => this.#changed(cm)).on('update', (cm) => this.#changed(cm));
    this.informer.on('delete', (cm) => this.#deleted(cm));
  }

  /** Starts watching; the store becomes loaded once the first list has been applied. */
  start(): void {
    this.informer.start();
    void this.informer.synced().then(() => {
      // synced() also resolves when the informer is stopped before its first list.
      if (this.#initialised || !this.informer.hasSynced) return;
      this.#initialised = true;
      this.#applyCluster();
    });
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  /** A new base policy (the `--policy` file changed); in force unless a ConfigMap overrides it. */
  setBase(spec: PolicySpec): void {
    this.#base = spec;
    if (this.#initialised && this.#clusterFrom === undefined) this.#applyCluster();
  }

  /** Problems still outstanding, re-recorded as Events (a new leader calls this). */
  reportOutstanding(): void {
    for (const p of this.#problems.values())
      this.#o.events.record(p.configMap, 'Warning', 'InvalidPolicy', p.message);
  }

  /** Outstanding problems by namespace, for tests and diagnostics. */
  problems(): ReadonlyMap<string, string> {
    return new Map([...this.#problems].map(([ns, p]) => [ns, p.message]));
  }

  #changed(cm: KubeObject): void {
    const ns = cm.metadata?.namespace;
    if (ns === undefined || cm.metadata?.name !== POLICY_CONFIGMAP_NAME) return;
    this.#latest.set(ns, cm);
    if (!this.#initialised) return;
    if (ns === this.#o.installNamespace) this.#applyCluster();
    else this.#applyOverride(ns);
  }

  #deleted(cm: KubeObject): void {
    const ns = cm.metadata?.namespace;
    if (ns === undefined) return;
    this.#latest.delete(ns);
    this.#problems.delete(ns);
    if (!this.#initialised) return;
    if (ns === this.#o.installNamespace) {
      this.#o.logger.warn(
        { configMap: `${ns}/${POLICY_CONFIGMAP_NAME}` },
        'cluster policy ConfigMap deleted; the base policy is in force',
      );
      this.#applyCluster();
    } else {
      this.#o.store.setNamespaceOverride(ns, undefined);
      this.#o.logger.info({ namespace: ns }, 'namespace policy override removed');
    }
  }

  /** Puts the install-namespace policy in force (or keeps the last valid one), then overrides. */
  #applyCluster(): void {
    const { store, installNamespace, metrics, logger } = this.#o;
    const cm = this.#latest.get(installNamespace);
    const source = `configmap/${installNamespace}`;
    let next: PolicySpec | undefined;
    let fromConfigMap = false;
    if (cm === undefined) {
      this.#clusterFrom = undefined;
      next = this.#base;
    } else {
      const parsed = parseConfigMap(cm);
      if (parsed.ok) {
        this.#clusterFrom = cm.metadata?.resourceVersion ?? '';
        this.#problems.delete(installNamespace);
        next = parsed.spec;
        fromConfigMap = true;
      } else {
        this.#report(installNamespace, cm, parsed.errors, 'the last valid policy stays in force');
        // With no valid policy yet, the base policy is the last valid one.
        if (!store.loaded) next = this.#base;
      }
    }
    if (next !== undefined) {
      const changed = !store.loaded || !isDeepStrictEqual(store.cluster, next);
      if (changed) {
        store.setCluster(next);
        metrics.policyReloads.inc({ source: fromConfigMap ? source : 'base' });
        logger.info(
          {
            source: fromConfigMap
              ? `ConfigMap ${installNamespace}/${POLICY_CONFIGMAP_NAME}`
              : 'base policy',
          },
          'cluster policy in force',
        );
        if (fromConfigMap && cm !== undefined)
          this.#o.events.record(cm, 'Normal', 'PolicyLoaded', 'this policy is in force');
        this.#o.onClusterPolicyChange?.();
      }
    }
    // Overrides are judged against the cluster policy: judge them all again.
    for (const ns of this.#latest.keys()) if (ns !== installNamespace) this.#applyOverride(ns);
  }

  #applyOverride(ns: string): void {
    const { store, metrics, logger } = this.#o;
    const cm = this.#latest.get(ns);
    if (cm === undefined) return;
    const parsed = parseConfigMap(cm);
    if (!parsed.ok) {
      this.#report(
        ns,
        cm,
        parsed.errors,
        'the last valid override for this namespace stays in force',
      );
      return;
    }
    const cluster = store.cluster;
    if (cluster.namespaceOverrides === 'tighten-only') {
      const loosening = looseningErrors(cluster, parsed.input).map((e) => ({
        ...e,
        key: `data.${POLICY_CONFIGMAP_KEY}: ${e.key}`,
      }));
      if (loosening.length > 0) {
        this.#report(
          ns,
          cm,
          loosening,
          'refused (namespaceOverrides: tighten-only); the last valid override for this namespace stays in force',
        );
        return;
      }
    }
    const hadProblem = this.#problems.delete(ns);
    if (hadProblem || !isDeepStrictEqual(store.namespaceOverride(ns), parsed.input)) {
      store.setNamespaceOverride(ns, parsed.input);
      metrics.policyReloads.inc({ source: `configmap/${ns}` });
      logger.info({ namespace: ns }, 'namespace policy override in force');
      this.#o.events.record(cm, 'Normal', 'PolicyLoaded', 'this namespace override is in force');
    }
  }

  #report(ns: string, cm: KubeObject, errors: readonly PolicyError[], consequence: string): void {
    const where = `ConfigMap ${ns}/${POLICY_CONFIGMAP_NAME}`;
    const message = `invalid policy; ${consequence}:\n${formatPolicyErrors(errors)}`;
    const previous = this.#problems.get(ns);
    this.#problems.set(ns, { message, configMap: cm });
    // The same problem is reported once, not again at every relist or cluster policy change.
    if (
      previous?.message === message &&
      previous.configMap.metadata?.resourceVersion === cm.metadata?.resourceVersion
    )
      return;
    this.#o.metrics.policyReloadErrors.inc({ source: `configmap/${ns}` });
    this.#o.logger.error(
      { configMap: `${ns}/${POLICY_CONFIGMAP_NAME}`, errors },
      `${where}: ${message}`,
    );
    this.#o.events.record(cm, 'Warning', 'InvalidPolicy', message);
  }
}

type ParsedConfigMap =
  | { ok: true; spec: PolicySpec; input: PolicySpecInput }
  | { ok: false; errors: readonly PolicyError[] };

function parseConfigMap(cm: KubeObject): ParsedConfigMap {
  const text = asRecord(cm.data)?.[POLICY_CONFIGMAP_KEY];
  if (typeof text !== 'string')
    return {
      ok: false,
      errors: [
        {
          key: `data.${POLICY_CONFIGMAP_KEY}`,
          message: 'is missing: put the MeshPolicy YAML under this key',
        },
      ],
    };
  const result = policyFromConfigMapData(text);
  return result.ok
    ? { ok: true, spec: result.policy.spec, input: result.policy.input }
    : { ok: false, errors: result.errors };
}
