import type { KubeObject } from '../../admission/types.js';
import type { LocatedError, SplitSource, WeightedSplit } from '../model.js';

/** What every reader returns: the splits it could read and what it could not. */
export interface ReaderOutput {
  readonly splits: readonly WeightedSplit[];
  readonly errors: readonly LocatedError[];
}

export interface ReaderOptions {
  /** Namespace for an object that carries none (admission: the request's namespace). */
  readonly namespace?: string;
}

/** The namespace kubectl assumes for a namespaced object without one. */
export const DEFAULT_NAMESPACE = 'default';

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash === -1
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function sourceOf(object: KubeObject, options: ReaderOptions = {}): SplitSource {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const meta = object.metadata;
  const namespace =
    typeof meta?.namespace === 'string' && meta.namespace !== ''
      ? meta.namespace
      : (options.namespace ?? DEFAULT_NAMESPACE);
  return {
    apiVersion,
    ...splitApiVersion(apiVersion),
    kind: typeof object.kind === 'string' ? object.kind : '',
    namespace,
    name: typeof meta?.name === 'string' ? meta.name : '',
    ...(typeof meta?.uid === 'string' ? { uid: meta.uid } : {}),
    ...(typeof meta?.resourceVersion === 'string' ? { resourceVersion: meta.resourceVersion } : {}),
  };
}

/**
 * Assigns each route its stable key: its name when it has one (a repeated name gets `#2`, `#3`
 * after the first), otherwise its position as `<list>[<index>]`.
 */
export class RouteKeys {
  readonly #seen = new Map<string, number>();

  key(list: string, index: number, name: string | undefined): string {
    if (name === undefined || name === '') return `${list}[${index}]`;
    const count = (this.#seen.get(name) ?? 0) + 1;
    this.#seen.set(name, count);
    return count === 1 ? name : `${name}#${count}`;
  }
}

/** `route 0` or `route "canary"`, with a qualifier for secondary lists (`tcp route 0`). */
export function routeLabel(index: number, name: string | undefined, qualifier = ''): string {
  const prefix = qualifier === '' ? 'route' : `${qualifier} route`;
  return name === undefined || name === '' ? `${prefix} ${index}` : `${prefix} "${name}"`;
}

/**
 * Makes backend display names unique within a split: a name shared by several backends gets its
 * identity appended, so messages never mix two backends up.
 */
export function distinctNames<T extends { name: string; id: string }>(backends: T[]): T[] {
  const counts = new Map<string, number>();
  for (const b of backends) counts.set(b.name, (counts.get(b.name) ?? 0) + 1);
  return backends.map((b) =>
    (counts.get(b.name) ?? 0) > 1 ? { ...b, name: `${b.name} [${b.id}]` } : b,
  );
}
