import type { Logger } from 'pino';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../k8s/keys.js';
import type { KubeObject } from '../k8s/objects.js';
import { splitApiVersion } from '../util/api-version.js';
import { isRecord } from '../util/objects.js';
import type { Discovery, ResolvedResource } from './discovery.js';
import { Informer, type InformerOptions } from './informer.js';
import { collectionPath, type KubeClient } from './kube-client.js';

export interface TrafficSplitWatchesOptions {
  readonly client: KubeClient;
  readonly discovery: Discovery;
  readonly logger: Logger;
  readonly informer: Omit<InformerOptions, 'logger'>;
  /** The TrafficSplit API group and resource. */
  readonly group: string;
  readonly resource: string;
  /**
   * The kinds translation writes, watched (by the managed-by label) to put back drift and prune:
   * each in the first of its versions (most preferred first) that the cluster serves.
   */
  readonly targets: readonly { readonly kind: string; readonly apiVersions: readonly string[] }[];
  /** A split, or an object it owns, changed: `namespace/name` of the split. */
  readonly onChange: (key: string) => void;
}

/**
 * The reconciler's caches: TrafficSplits in every version the cluster serves, and the objects
 * meshwarden wrote for them, following discovery.
 */
export class TrafficSplitWatches {
  readonly #o: TrafficSplitWatchesOptions;
  /** TrafficSplit informers by version, in the server's priority order. */
  #splits = new Map<string, Informer>();
  /**
   * Informers on the kinds meshwarden writes, by `group kind`: one version each, since every
   * served version lists the same objects (a second watch would prune them twice).
   */
  readonly #owned = new Map<string, { informer: Informer; resource: ResolvedResource }>();

  constructor(options: TrafficSplitWatchesOptions) {
    this.#o = options;
  }

  /** Served TrafficSplit versions being watched. */
  get versions(): readonly string[] {
    return [...this.#splits.keys()];
  }

  /** The watches on the kinds meshwarden writes. */
  get owned(): Iterable<{ readonly informer: Informer; readonly resource: ResolvedResource }> {
    return this.#owned.values();
  }

  async stop(): Promise<void> {
    await Promise.all([
      ...[...this.#splits.values()].map((i) => i.stop()),
      ...[...this.#owned.values()].map((o) => o.informer.stop()),
    ]);
  }

  /** Starts or stops informers to match what the API server serves now. */
  async sync(): Promise<void> {
    const { discovery, group, resource } = this.#o;
    const versions = await discovery.versionsServing(group, resource);
    const next = new Map<string, Informer>();
    for (const version of versions) {
      let informer = this.#splits.get(version);
      if (!informer) {
        const apiVersion = `${group}/${version}`;
        informer = new Informer(
          this.#o.client,
          {
            name: `${resource}.${apiVersion}`,
            apiVersion,
            kind: 'TrafficSplit',
            path: collectionPath(apiVersion, resource),
          },
          { ...this.#o.informer, logger: this.#o.logger },
        );
        informer.on('change', (split) => this.#o.onChange(keyOf(split)));
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
    for (const target of this.#o.targets) {
      for (const apiVersion of target.apiVersions) {
        const served = await discovery.resolve(apiVersion, target.kind);
        if (!served) continue;
        await this.#replaceUnserved(served, target.apiVersions, discovery);
        this.watchOwned(served);
        break;
      }
    }
  }

  /** Stops a watch on another version of `served`'s kind that the cluster no longer serves. */
  async #replaceUnserved(
    served: ResolvedResource,
    versions: readonly string[],
    discovery: Discovery,
  ): Promise<void> {
    const id = ownedId(served);
    const existing = this.#owned.get(id);
    if (!existing || existing.resource.apiVersion === served.apiVersion) return;
    const stillServed = versions.includes(existing.resource.apiVersion)
      ? await discovery.resolve(existing.resource.apiVersion, served.kind)
      : undefined;
    if (stillServed) return;
    this.#o.logger.info(
      { kind: served.kind, from: existing.resource.apiVersion, to: served.apiVersion },
      'written kind watched in another version',
    );
    this.#owned.delete(id);
    await existing.informer.stop();
  }

  /** `namespace/name` of every TrafficSplit in the caches. */
  keys(): Set<string> {
    const keys = new Set<string>();
    for (const informer of this.#splits.values())
      for (const s of informer.list()) keys.add(keyOf(s));
    return keys;
  }

  /**
   * The watch on a kind meshwarden writes, started on first use; when the kind is already watched
   * in another version, that watch (whose objects render in its own version).
   */
  watchOwned(resource: ResolvedResource): { informer: Informer; resource: ResolvedResource } {
    const id = ownedId(resource);
    const existing = this.#owned.get(id);
    if (existing) return existing;
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
        if (ref.kind === 'TrafficSplit' && splitApiVersion(ref.apiVersion).group === this.#o.group)
          this.#o.onChange(`${object.metadata?.namespace ?? ''}/${ref.name}`);
    });
    informer.start();
    const watch = { informer, resource };
    this.#owned.set(id, watch);
    return watch;
  }

  /**
   * The split to translate: the copy in the version it was last written in. 'pending' while
   * the caches of the versions disagree (one watch is ahead of another): the lagging watch's
   * event queues the split again.
   */
  current(namespace: string, name: string): KubeObject | 'pending' | undefined {
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
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
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

function ownedId(resource: ResolvedResource): string {
  return `${splitApiVersion(resource.apiVersion).group} ${resource.kind}`;
}
