import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../k8s/keys.js';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import { resolveMesh } from '../admission/mesh-resolution.js';
import type { KubeObject, OwnerReference } from '../k8s/objects.js';
import type { MeshId } from '../mesh/ids.js';
import { WRITTEN_KIND_VERSIONS } from '../mesh/registry.js';
import type { PolicyStore } from '../policy/store.js';
import type { Metrics } from '../observability/metrics.js';
import { TRAFFIC_SPLIT_GROUP } from '../traffic/smi/api.js';
import { apiVersionOf } from '../traffic/write-common.js';
import type { TranslationResult } from '../translation/translate.js';
import { isRecord } from '../util/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import type { Discovery } from './discovery.js';
import type { EventRecorder } from './events.js';
import { describeError, type InformerOptions } from './informer.js';
import { objectPath, type KubeClient } from './kube-client.js';
import { TrafficSplitWatches } from './traffic-split-watches.js';
import { WorkQueue } from './work-queue.js';

export const TRAFFIC_SPLIT_RESOURCE = 'trafficsplits';

/**
 * The kinds translation writes (CONTRACT §7), from the writers in the registry, in every version
 * a writer can write them (most preferred first), watched to put back drift and to prune. OSM's
 * output is a TrafficSplit, which OSM reads as it is: nothing is written for it.
 */
export const TRANSLATION_TARGETS: readonly { kind: string; apiVersions: readonly string[] }[] =
  WRITTEN_KIND_VERSIONS.filter((k) => k.group !== TRAFFIC_SPLIT_GROUP).map((k) => ({
    kind: k.kind,
    apiVersions: k.versions.map((version) => apiVersionOf({ ...k, version })),
  }));

export type Translate = (split: KubeObject, mesh: MeshId) => TranslationResult;

export interface TrafficSplitReconcilerOptions {
  readonly client: KubeClient;
  readonly discovery: Discovery;
  readonly policy: PolicyStore;
  /** Namespace labels and the detected mesh, from the watch caches. */
  readonly cluster: ClusterView;
  readonly translate: Translate;
  readonly events: EventRecorder;
  readonly isLeader: () => boolean;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly informer: Omit<InformerOptions, 'logger'>;
  /** Retry of a split blocked by an object it does not own. */
  readonly blockedRetryMs?: number;
  readonly retryBackoff?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * Writes the native routing objects of every TrafficSplit, as the leader, with server-side apply
 * (field manager `meshwarden`, forced: fields someone else changed are taken back).
 *
 * - Watches TrafficSplits in every version the cluster serves. The SMI CRDs use
 *   `conversion: None`, so the same split is readable in each version with only `apiVersion`
 *   changed, although its spec is in the shape of the version it was written in (v1alpha1
 *   weights are Quantities). The reconciler translates the copy whose version matches the
 *   latest write recorded in `managedFields`, else the first served version.
 * - Every object written carries a controller ownerReference to the split (deleting the split
 *   deletes them, by Kubernetes garbage collection) and the label
 *   `app.kubernetes.io/managed-by: meshwarden`, which its watches on the target kinds select:
 *   a change or deletion of one of them brings its split back into the queue (drift is put back).
 * - An existing object the split does not control is never written: an Event on the split says
 *   so, and the split is retried later.
 * - Objects the split controls that translation no longer produces (the mesh changed) are deleted.
 */
export class TrafficSplitReconciler {
  readonly #o: TrafficSplitReconcilerOptions;
  readonly #queue: WorkQueue;
  readonly #watches: TrafficSplitWatches;
  #started = false;

  constructor(options: TrafficSplitReconcilerOptions) {
    this.#o = options;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      logger: options.logger,
      name: 'trafficsplits',
      ...(options.retryBackoff ? { backoff: options.retryBackoff } : {}),
    });
    this.#watches = new TrafficSplitWatches({
      client: options.client,
      discovery: options.discovery,
      logger: options.logger,
      informer: options.informer,
      group: TRAFFIC_SPLIT_GROUP,
      resource: TRAFFIC_SPLIT_RESOURCE,
      targets: TRANSLATION_TARGETS,
      onChange: (key) => this.#queue.add(key),
    });
  }

  /** Starts the queue; informers follow discovery (call `syncWithDiscovery` after refreshes). */
  async start(): Promise<void> {
    this.#started = true;
    this.#queue.start();
    await this.syncWithDiscovery();
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#queue.stop();
    await this.#watches.stop();
  }

  /** Served TrafficSplit versions being watched. */
  get watchedVersions(): readonly string[] {
    return this.#watches.versions;
  }

  /** Resolves when the queue is empty and idle (tests). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Queues every known split (leadership gained, policy or mesh changed, resync). */
  enqueueAll(): void {
    for (const key of this.#watches.keys()) this.#queue.add(key);
  }

  enqueueNamespace(namespace: string): void {
    for (const key of this.#watches.keys())
      if (key.startsWith(`${namespace}/`)) this.#queue.add(key);
  }

  /** Starts or stops informers to match what the API server serves now. */
  async syncWithDiscovery(): Promise<void> {
    if (this.#started) await this.#watches.sync();
  }

  /**
   * A cached TrafficSplit in the version it was last written in (what the reconciler would
   * translate); undefined while unknown or while the versions' caches disagree.
   */
  split(namespace: string, name: string): KubeObject | undefined {
    const current = this.#watches.current(namespace, name);
    return current === 'pending' ? undefined : current;
  }

  /** `namespace/name` of every TrafficSplit in the caches. */
  splitKeys(): string[] {
    return [...this.#watches.keys()].sort();
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const target = this.#target(key);
    if (!target) return {};
    const desired = this.#translate(target);
    if (!desired) return {};
    const { metrics, events } = this.#o;
    let outcome: { keep: Set<string>; blocked: boolean; applied: number };
    try {
      outcome = await this.#applyAll(target, desired);
      await this.#prune(target, outcome.keep);
    } catch (error) {
      metrics.reconciles.inc({ result: 'error' });
      events.record(target.split, 'Warning', 'ApplyFailed', describeError(error));
      throw error;
    }
    const { blocked, applied } = outcome;
    metrics.reconciles.inc({ result: blocked ? 'blocked' : applied > 0 ? 'applied' : 'unchanged' });
    return blocked ? { requeueAfterMs: this.#o.blockedRetryMs ?? 30_000 } : {};
  }

  /** The split behind `key` and its mesh; undefined when there is nothing to do (or not leader). */
  #target(key: string): Target | undefined {
    if (!this.#o.isLeader()) return undefined;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const split = this.#watches.current(namespace, name);
    // A deleted split: garbage collection removes what it owned.
    if (!split || split === 'pending') return undefined;
    const policy = this.#o.policy.forNamespace(namespace);
    const labels = this.#o.cluster.namespaceLabels(namespace);
    if (
      policy.excludedNamespaces.includes(namespace) ||
      labels?.[NAMESPACE_ENFORCE_LABEL] === 'disabled'
    )
      return undefined;
    return { key, namespace, split, mesh: resolveMesh(policy, labels, this.#o.cluster) };
  }

  /** The objects to write, owned by the split; undefined (with an Event) when translation fails. */
  #translate({ split, mesh }: Target): KubeObject[] | undefined {
    const { events, metrics } = this.#o;
    let result: TranslationResult;
    try {
      result = this.#o.translate(split, mesh);
    } catch (error) {
      result = { ok: false, error: `translation failed: ${describeError(error)}` };
    }
    if (!result.ok) {
      metrics.reconciles.inc({ result: 'failed' });
      events.record(
        split,
        'Warning',
        'TranslationFailed',
        `cannot translate for ${mesh}: ${result.error}`,
      );
      return undefined;
    }
    for (const warning of result.warnings)
      events.record(split, 'Warning', 'TranslationWarning', warning);
    return (
      result.objects
        // OSM reads the TrafficSplit itself: there is nothing else to write.
        .filter((o) => !sameObject(o, split))
        .map((o) => ownedCopy(o, split))
    );
  }

  /** Applies each desired object; `keep` names those the cluster serves, for pruning. */
  async #applyAll(target: Target, desired: readonly KubeObject[]) {
    const keep = new Set<string>();
    let blocked = false;
    let applied = 0;
    for (const object of desired) {
      const id = identity(object);
      const outcome = await this.#applyOne(target, object);
      if (outcome !== 'not-served') keep.add(id);
      if (outcome === 'not-served' || outcome === 'foreign') blocked = true;
      if (outcome === 'applied') applied++;
    }
    return { keep, blocked, applied };
  }

  async #applyOne(
    { key, namespace, split, mesh }: Target,
    object: KubeObject,
  ): Promise<'applied' | 'unchanged' | 'not-served' | 'foreign'> {
    const { events, logger } = this.#o;
    const apiVersion = object.apiVersion ?? '';
    const kind = object.kind ?? '';
    const objName = object.metadata?.name ?? '';
    const resource = await this.#o.discovery.resolve(apiVersion, kind);
    if (!resource) {
      events.record(
        split,
        'Warning',
        'KindNotServed',
        `${apiVersion} ${kind} is not served by this cluster; install the ${mesh} CRDs, or choose the mesh with the namespace label meshwarden.io/mesh`,
      );
      return 'not-served';
    }
    const ns = resource.namespaced ? namespace : undefined;
    if (!resource.namespaced) delete object.metadata?.namespace;
    const path = objectPath(apiVersion, resource.name, ns, objName);
    const owned = this.#watches.watchOwned(resource);
    // A watch on another version of the kind renders its objects in that version: ask for ours.
    const cached =
      owned.resource.apiVersion === apiVersion ? owned.informer.get(objName, ns) : undefined;
    const current = cached ?? (await this.#o.client.get(path));
    if (current && !controlledBy(current, split)) {
      events.record(
        split,
        'Warning',
        'ForeignObject',
        `${kind} ${namespace}/${objName} exists and is not controlled by this TrafficSplit; it was left unchanged. Delete or rename it to let meshwarden manage it.`,
      );
      return 'foreign';
    }
    if (current && contains(current, object)) return 'unchanged';
    await this.#o.client.apply(path, object);
    logger.info({ split: key, kind, name: objName, mesh }, current ? 'reapplied' : 'created');
    events.record(
      split,
      'Normal',
      current ? 'Updated' : 'Created',
      `${current ? 'updated' : 'created'} ${kind} ${namespace}/${objName} for ${mesh}`,
    );
    return 'applied';
  }

  /** Deletes what the split controls and translation no longer produces (the mesh changed). */
  async #prune({ key, namespace, split }: Target, keep: ReadonlySet<string>): Promise<void> {
    for (const { informer, resource } of this.#watches.owned) {
      const ns = resource.namespaced ? namespace : undefined;
      for (const object of informer.list(ns)) {
        if (!controlledBy(object, split) || keep.has(identity(object))) continue;
        const objName = object.metadata?.name ?? '';
        await this.#o.client.delete(objectPath(resource.apiVersion, resource.name, ns, objName));
        this.#o.logger.info(
          { split: key, kind: object.kind, name: objName },
          'deleted: no longer produced',
        );
        this.#o.events.record(
          split,
          'Normal',
          'Deleted',
          `deleted ${object.kind ?? ''} ${objName}: translation no longer produces it`,
        );
      }
    }
  }
}

/** A split to reconcile: `namespace/name`, the copy to translate, and the mesh it is for. */
interface Target {
  readonly key: string;
  readonly namespace: string;
  readonly split: KubeObject;
  readonly mesh: MeshId;
}

/** Group, kind, namespace and name: one object whatever version it is read in. */
function identity(object: KubeObject): string {
  const { group } = splitApiVersion(object.apiVersion ?? '');
  return `${group}/${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function sameObject(a: KubeObject, b: KubeObject): boolean {
  return identity(a) === identity(b);
}

function controlledBy(object: KubeObject, split: KubeObject): boolean {
  const uid = split.metadata?.uid;
  return (object.metadata?.ownerReferences ?? []).some(
    (r) => r.uid === uid && r.controller === true,
  );
}

/** The desired object as applied: our label, a controller reference to the split, no server fields. */
function ownedCopy(object: KubeObject, split: KubeObject): KubeObject {
  const meta = split.metadata ?? {};
  const owner: OwnerReference = {
    apiVersion: split.apiVersion ?? '',
    kind: 'TrafficSplit',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    controller: true,
  };
  const copy = structuredClone(object);
  delete copy.status;
  const m = copy.metadata ?? {};
  for (const key of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields'])
    delete m[key];
  copy.metadata = {
    ...m,
    namespace: meta.namespace,
    labels: { ...m.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    ownerReferences: [owner],
  };
  return copy;
}

/** True when every field of `desired` has the same value in `current` (lists compared whole). */
export function contains(current: unknown, desired: unknown): boolean {
  if (isRecord(desired)) {
    if (!isRecord(current)) return false;
    return Object.entries(desired).every(([k, v]) => contains(current[k], v));
  }
  return isDeepStrictEqual(current, desired);
}
