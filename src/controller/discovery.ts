import { splitApiVersion } from '../util/api-version.js';
import { isRecord } from '../util/objects.js';
import type { KubeClient } from './kube-client.js';

export interface ServedGroup {
  readonly name: string;
  /** Served versions, in the server's priority order (preferred first). */
  readonly versions: readonly string[];
  readonly preferredVersion: string;
}

export interface ApiResource {
  /** Plural resource name, e.g. `virtualservices`. */
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** A served resource in one version: enough to build paths. */
export interface ResolvedResource extends ApiResource {
  readonly apiVersion: string;
}

/**
 * What the API server serves, from discovery. `refresh()` costs two requests (`/api`, `/apis`);
 * a group version's resource list is fetched the first time it is needed and kept until a
 * refresh shows the group's versions changed.
 */
export class Discovery {
  readonly #client: KubeClient;
  #groups = new Map<string, ServedGroup>();
  #resources = new Map<string, Promise<readonly ApiResource[]>>();
  #loaded = false;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Re-reads the served groups; resolves true when anything changed. */
  async refresh(): Promise<boolean> {
    const [core, apis] = await Promise.all([
      this.#client.request<{ versions?: string[] }>('GET', '/api'),
      this.#client.request<{ groups?: unknown[] }>('GET', '/apis'),
    ]);
    const next = new Map<string, ServedGroup>();
    next.set('', {
      name: '',
      versions: core.versions ?? ['v1'],
      preferredVersion: core.versions?.[0] ?? 'v1',
    });
    for (const g of apis.groups ?? []) {
      if (!isRecord(g) || typeof g.name !== 'string') continue;
      const versions = (Array.isArray(g.versions) ? g.versions : [])
        .map((v) => (isRecord(v) && typeof v.version === 'string' ? v.version : undefined))
        .filter((v): v is string => v !== undefined);
      const preferred =
        isRecord(g.preferredVersion) && typeof g.preferredVersion.version === 'string'
          ? g.preferredVersion.version
          : versions[0];
      if (preferred === undefined) continue;
      next.set(g.name, { name: g.name, versions, preferredVersion: preferred });
    }
    let changed = !this.#loaded || next.size !== this.#groups.size;
    for (const [name, group] of next) {
      const before = this.#groups.get(name);
      if (!before || before.versions.join() !== group.versions.join()) {
        changed = true;
        for (const v of group.versions) this.#resources.delete(groupVersion(name, v));
      }
    }
    for (const name of this.#groups.keys()) {
      if (!next.has(name)) {
        changed = true;
        for (const key of [...this.#resources.keys()])
          if (key.startsWith(`${name}/`)) this.#resources.delete(key);
      }
    }
    this.#groups = next;
    this.#loaded = true;
    return changed;
  }

  groups(): ReadonlyMap<string, ServedGroup> {
    return this.#groups;
  }

  hasGroup(group: string): boolean {
    return this.#groups.has(group);
  }

  isServed(apiVersion: string): boolean {
    const { group, version } = splitApiVersion(apiVersion);
    return this.#groups.get(group)?.versions.includes(version) ?? false;
  }

  /** The resources of one served group version (empty when it is not served). */
  async resources(apiVersion: string): Promise<readonly ApiResource[]> {
    if (!this.isServed(apiVersion)) return [];
    let pending = this.#resources.get(apiVersion);
    if (!pending) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      pending = this.#client
        .request<{ resources?: unknown[] }>('GET', path)
        .then((list) =>
          (list.resources ?? []).flatMap((r) =>
            isRecord(r) &&
            typeof r.name === 'string' &&
            !r.name.includes('/') &&
            typeof r.kind === 'string'
              ? [{ name: r.name, kind: r.kind, namespaced: r.namespaced === true }]
              : [],
          ),
        );
      // A failed fetch is retried on the next call rather than cached.
      pending.catch(() => this.#resources.delete(apiVersion));
      this.#resources.set(apiVersion, pending);
    }
    return pending;
  }

  /** The resource serving `kind` in `apiVersion`, when served. */
  async resolve(apiVersion: string, kind: string): Promise<ResolvedResource | undefined> {
    const found = (await this.resources(apiVersion)).find((r) => r.kind === kind);
    return found ? { ...found, apiVersion } : undefined;
  }

  /** Every served version (priority order) of a group that serves `resource`. */
  async versionsServing(group: string, resource: string): Promise<string[]> {
    const served = this.#groups.get(group);
    if (!served) return [];
    const out: string[] = [];
    for (const version of served.versions) {
      const resources = await this.resources(groupVersion(group, version));
      if (resources.some((r) => r.name === resource)) out.push(version);
    }
    return out;
  }
}

export function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}
