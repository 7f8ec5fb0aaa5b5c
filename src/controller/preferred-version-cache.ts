import type { KubeObject } from '../k8s/objects.js';
import type { Discovery } from './discovery.js';
import { Informer, type InformerOptions } from './informer.js';
import { collectionPath, type KubeClient } from './kube-client.js';

/**
 * A cache of one kind in the preferred version its group serves, following discovery: started
 * when the group appears, restarted when the preferred version changes, stopped when it goes.
 */
export class PreferredVersionCache {
  readonly #client: KubeClient;
  readonly #discovery: Discovery;
  readonly #options: InformerOptions;
  readonly #target: { group: string; kind: string; resource: string };
  #cache: Informer | undefined;
  #onChange: ((object: KubeObject) => void) | undefined;

  constructor(
    client: KubeClient,
    discovery: Discovery,
    target: { group: string; kind: string; resource: string },
    options: InformerOptions,
  ) {
    this.#client = client;
    this.#discovery = discovery;
    this.#target = target;
    this.#options = options;
  }

  /** The running cache; undefined while the group is not served. */
  current(): Informer | undefined {
    return this.#cache;
  }

  /** Called for every change, in whichever version is cached (set before the first `sync`). */
  onChange(listener: (object: KubeObject) => void): void {
    this.#onChange = listener;
  }

  /** Follows what discovery says now. */
  async sync(): Promise<void> {
    const { group, kind, resource } = this.#target;
    const version = this.#discovery.groups().get(group)?.preferredVersion;
    const apiVersion = version === undefined ? undefined : `${group}/${version}`;
    if (this.#cache && this.#cache.source.apiVersion === apiVersion) return;
    await this.#cache?.stop();
    this.#cache = undefined;
    if (apiVersion === undefined || !(await this.#discovery.resolve(apiVersion, kind))) return;
    const cache = new Informer(
      this.#client,
      {
        name: `${resource}.${apiVersion}`,
        apiVersion,
        kind,
        path: collectionPath(apiVersion, resource),
      },
      this.#options,
    );
    const listener = this.#onChange;
    if (listener) cache.on('change', listener);
    cache.start();
    this.#cache = cache;
  }

  async stop(): Promise<void> {
    await this.#cache?.stop();
  }
}
