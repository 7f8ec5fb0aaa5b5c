import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../k8s/keys.js';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { ClusterView } from '../admission/cluster-view.js';
import { NAMESPACE_ENFORCE_LABEL } from '../k8s/keys.js';
import { resolveMesh } from '../admission/mesh-resolution.js';
import type { KubeObject, OwnerReference } from '../k8s/objects.js';
import type { MeshId } from '../mesh/ids.js';
import { WRITTEN_KINDS } from '../mesh/registry.js';
import type { PolicyStore } from '../policy/store.js';
import type { Metrics } from '../observability/metrics.js';
import { TRAFFIC_SPLIT_GROUP } from '../traffic/smi/api.js';
import { apiVersionOf } from '../traffic/write-common.js';
import type { TranslationResult } from '../translation/translate.js';
import { isRecord } from '../util/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import type { Discovery, ResolvedResource } from './discovery.js';
import type { EventRecorder } from './events.js';
import { describeError, Informer, type InformerOptions } from './informer.js';
import { collectionPath, objectPath, type KubeClient } from './kube-client.js';
import { WorkQueue } from './work-queue.js';

export const TRAFFIC_SPLIT_RESOURCE = 'trafficsplits';

/**
 * The kinds translation writes (CONTRACT §7), from the writers in the registry, watched to put
 * back drift and to prune. OSM's output is a TrafficSplit, which OSM reads as it is: nothing is
 * written for it.
 */
export const TRANSLATION_TARGETS: readonly { apiVersion: string; kind: string }[] =
  WRITTEN_KINDS.filter((gvk) => gvk.group !== TRAFFIC_SPLIT_GROUP).map((gvk) => ({
    apiVersion: apiVersionOf(gvk),
    kind: gvk.kind,
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
  /** TrafficSplit informers by version, in the server's priority order. */
  #splits = new Map<string, Informer>();
  /** Informers on the kinds meshwarden writes, by `apiVersion kind`. */
  readonly #owned = new Map<string, { informer: Informer; resource: ResolvedResource }>();
  #started = false;

  constructor(options: TrafficSplitReconcilerOptions) {
    this.#o = options;
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      logger: options.logger,
      name: 'trafficsplits',
      ...(options.retryBackoff ? { backoff: options.retryBackoff } : {}),
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
    await Promise.all([
      ...[...this.#splits.values()].map((i) => i.stop()),
      ...[...this.#owned.values()].map((o) => o.informer.stop()),
    ]);
  }

  /** Served TrafficSplit versions being watched. */
  get watchedVersions(): readonly string[] {
    return [...this.#splits.keys()];
  }

  /** Resolves when the queue is empty and idle (tests). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Queues every known split (leadership gained, policy or mesh changed, resync). */
  enqueueAll(): void {
    for (const key of this.#keys()) this.#queue.add(key);
  }

  enqueueNamespace(namespace: string): void {
    for (const key of this.#keys()) if (key.startsWith(`${namespace}/`)) this.#queue.add(key);
  }

  /** Starts or stops informers to match what the API server serves now. */
  async syncWithDiscovery(): Promise<void> {
    if (!this.#started) return;
    const { discovery } = this.#o;
    const versions = await discovery.versionsServing(TRAFFIC_SPLIT_GROUP, TRAFFIC_SPLIT_RESOURCE);
    const next = new Map<string, Informer>();
    for (const version of versions) {
      let informer = this.#splits.get(version);
      if (!informer) {
        const apiVersion = `${TRAFFIC_SPLIT_GROUP}/${version}`;
        informer = new Informer(
          this.#o.client,
          {
            name: `trafficsplits.${apiVersion}`,
            apiVersion,
            kind: 'TrafficSplit',
            path: collectionPath(apiVersion, TRAFFIC_SPLIT_RESOURCE),
          },
          { ...this.#o.informer, logger: this.#o.logger },
        );
        informer.on('change', (split) => this.#queue.add(keyOf(split)));
        informer.start();
        this.#o.logger.info({ apiVersion }, 'watching TrafficSplits');
      }
      next.set(version, informer);
    }
    for (const [version, informer] of this.#splits) {
      if (next.has(version)) continue;
      this.#o.logger.info({ version }, 'TrafficSplit version no longer served; watch stopped');
      await informer.stop();
    }
    this.#splits = next;
    for (const target of TRANSLATION_TARGETS) {
      const resource = await discovery.resolve(target.apiVersion, target.kind);
      if (resource) this.#watchOwned(resource);
    }
  }

  #keys(): Set<string> {
    const keys = new Set<string>();
    for (const informer of this.#splits.values())
      for (const s of informer.list()) keys.add(keyOf(s));
    return keys;
  }

  #watchOwned(resource: ResolvedResource): Informer {
    const id = `${resource.apiVersion} ${resource.kind}`;
    const existing = this.#owned.get(id);
    if (existing) return existing.informer;
    const informer = new Informer(
      this.#o.client,
      {
        name: `${resource.name}.${resource.apiVersion}`,
        apiVersion: resource.apiVersion,
        kind: resource.kind,
        path: collectionPath(resource.apiVersion, resource.name),
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      },
      { ...this.#o.informer, logger: this.#o.logger },
    );
    informer.on('change', (object) => {
      for (const ref of object.metadata?.ownerReferences ?? [])
        if (
          ref.kind === 'TrafficSplit' &&
          splitApiVersion(ref.apiVersion).group === TRAFFIC_SPLIT_GROUP
        )
          this.#queue.add(`${object.metadata?.namespace ?? ''}/${ref.name}`);
    });
    informer.start();
    this.#owned.set(id, { informer, resource });
    return informer;
  }

  /** `namespace/name` of every TrafficSplit in the caches. */
  splitKeys(): string[] {
    return [...this.#keys()].sort();
  }

  /**
   * The split to translate: the copy in the version it was last written in. 'pending' while
   * the caches of the versions disagree (one watch is ahead of another): the lagging watch's
   * event queues the split again.
   */
  #current(namespace: string, name: string): KubeObject | 'pending' | undefined {
    const copies: KubeObject[] = [];
    let synced = 0;
    for (const informer of this.#splits.values()) {
      if (!informer.hasSynced) continue;
      synced++;
      const copy = informer.get(name, namespace);
      if (copy) copies.push(copy);
    }
    if (copies.length === 0) return undefined;
    const versions = new Set(copies.map((c) => c.metadata?.resourceVersion));
    if (copies.length < synced || versions.size > 1) return 'pending';
    return pickWrittenVersion(copies);
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const { events, metrics, logger } = this.#o;
    if (!this.#o.isLeader()) return {};
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const split = this.#current(namespace, name);
    // A deleted split: garbage collection removes what it owned.
    if (!split || split === 'pending') return {};
    const policy = this.#o.policy.forNamespace(namespace);
    const labels = this.#o.cluster.namespaceLabels(namespace);
    if (
      policy.excludedNamespaces.includes(namespace) ||
      labels?.[NAMESPACE_ENFORCE_LABEL] === 'disabled'
    )
      return {};
    const mesh = resolveMesh(policy, labels, this.#o.cluster);
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
      return {};
    }
    for (const warning of result.warnings)
      events.record(split, 'Warning', 'TranslationWarning', warning);

    const desired = result.objects
      // OSM reads the TrafficSplit itself: there is nothing else to write.
      .filter((o) => !sameObject(o, split))
      .map((o) => ownedCopy(o, split));
    const keep = new Set<string>();
    let blocked = false;
    let applied = 0;
    try {
      for (const object of desired) {
        const apiVersion = object.apiVersion ?? '';
        const kind = object.kind ?? '';
        const objName = object.metadata?.name ?? '';
        const resource = await this.#o.discovery.resolve(apiVersion, kind);
        if (!resource) {
          blocked = true;
          events.record(
            split,
            'Warning',
            'KindNotServed',
            `${apiVersion} ${kind} is not served by this cluster; install the ${mesh} CRDs, or choose the mesh with the namespace label meshwarden.io/mesh`,
          );
          continue;
        }
        keep.add(identity(object));
        const ns = resource.namespaced ? namespace : undefined;
        if (!resource.namespaced) delete object.metadata?.namespace;
        const path = objectPath(apiVersion, resource.name, ns, objName);
        const cached = this.#watchOwned(resource).get(objName, ns);
        const current = cached ?? (await this.#o.client.get(path));
        if (current && !controlledBy(current, split)) {
          blocked = true;
          events.record(
            split,
            'Warning',
            'ForeignObject',
            `${kind} ${namespace}/${objName} exists and is not controlled by this TrafficSplit; it was left unchanged. Delete or rename it to let meshwarden manage it.`,
          );
          continue;
        }
        if (current && contains(current, object)) continue;
        await this.#o.client.apply(path, object);
        applied++;
        logger.info({ split: key, kind, name: objName, mesh }, current ? 'reapplied' : 'created');
        events.record(
          split,
          'Normal',
          current ? 'Updated' : 'Created',
          `${current ? 'updated' : 'created'} ${kind} ${namespace}/${objName} for ${mesh}`,
        );
      }
      for (const { informer, resource } of this.#owned.values()) {
        for (const object of informer.list(resource.namespaced ? namespace : undefined)) {
          if (!controlledBy(object, split) || keep.has(identity(object))) continue;
          const objName = object.metadata?.name ?? '';
          await this.#o.client.delete(
            objectPath(
              resource.apiVersion,
              resource.name,
              resource.namespaced ? namespace : undefined,
              objName,
            ),
          );
          logger.info(
            { split: key, kind: object.kind, name: objName },
            'deleted: no longer produced',
          );
          events.record(
            split,
            'Normal',
            'Deleted',
            `deleted ${object.kind ?? ''} ${objName}: translation no longer produces it`,
          );
        }
      }
    } catch (error) {
      metrics.reconciles.inc({ result: 'error' });
      events.record(split, 'Warning', 'ApplyFailed', describeError(error));
      throw error;
    }
    metrics.reconciles.inc({ result: blocked ? 'blocked' : applied > 0 ? 'applied' : 'unchanged' });
    return blocked ? { requeueAfterMs: this.#o.blockedRetryMs ?? 30_000 } : {};
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
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

/**
 * Of the copies of one object read in several versions, the one in the version of its latest
 * write (from managedFields), else the first (the server's preferred order).
 */
export function pickWrittenVersion(copies: readonly KubeObject[]): KubeObject | undefined {
  const first = copies[0];
  if (!first) return undefined;
  const fields = first.metadata?.managedFields;
  if (!Array.isArray(fields)) return first;
  let latest: { apiVersion: string; time: string } | undefined;
  for (const entry of fields) {
    if (!isRecord(entry) || typeof entry.apiVersion !== 'string') continue;
    if (entry.subresource !== undefined) continue;
    const time = typeof entry.time === 'string' ? entry.time : '';
    if (!latest || time >= latest.time) latest = { apiVersion: entry.apiVersion, time };
  }
  return copies.find((c) => c.apiVersion === latest?.apiVersion) ?? first;
}
