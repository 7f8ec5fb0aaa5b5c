import { splitApiVersion } from '../util/api-version.js';
import { hasRepeat } from '../util/lists.js';
import type { KindRef, KubeObject } from '../k8s/objects.js';
import type { FlowObject } from './flow/model.js';
import type { LocatedError, SplitBackend, SplitSource, WeightedSplit } from './model.js';

/** What every reader returns: the splits it could read and what it could not. */
export interface ReaderOutput {
  readonly splits: readonly WeightedSplit[];
  readonly errors: readonly LocatedError[];
}

export interface ReaderOptions {
  /** Namespace for an object that carries none (admission: the request's namespace). */
  readonly namespace?: string;
}

/** A route kind that carries weights, with the reader that reads it into the one model. */
export interface RouteKind extends KindRef {
  /** Stable id, e.g. `istio-virtualservice`. */
  readonly id: string;
  readonly versions: readonly string[];
  readonly read: (object: KubeObject, options?: ReaderOptions) => ReaderOutput;
  /** The traffic the object routes (roots, classes, shares), from what `read` read. */
  readonly flow: FlowReader;
}

/** Reads the traffic of an object of one kind; the weights come from its route reader. */
export type FlowReader = (
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
) => FlowObject;

/** The namespace kubectl assumes for a namespaced object without one. */
export const DEFAULT_NAMESPACE = 'default';

export function sourceOf(object: KubeObject, options: ReaderOptions = {}): SplitSource {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const meta = object.metadata;
  const { group, version } = splitApiVersion(apiVersion);
  // Built whole, optional fields assigned: spreads were most of reading a small route's time.
  const source: { -readonly [K in keyof SplitSource]: SplitSource[K] } = {
    apiVersion,
    group,
    version,
    kind: typeof object.kind === 'string' ? object.kind : '',
    namespace:
      typeof meta?.namespace === 'string' && meta.namespace !== ''
        ? meta.namespace
        : (options.namespace ?? DEFAULT_NAMESPACE),
    name: typeof meta?.name === 'string' ? meta.name : '',
  };
  if (typeof meta?.uid === 'string') source.uid = meta.uid;
  if (typeof meta?.resourceVersion === 'string') source.resourceVersion = meta.resourceVersion;
  return source;
}

/** One weighted route as a reader found it, before it becomes a split. */
export interface FoundRoute {
  /** The list it is in (`http`, `rules`, `routes`), for its positional key. */
  readonly list: string;
  readonly index: number;
  readonly name: string | undefined;
  readonly path: string;
  readonly backends: SplitBackend[];
  /** Defaults to the object's own name. */
  readonly rootService?: string;
  /** For secondary lists in labels (`tcp route 0`). */
  readonly qualifier?: string;
}

/**
 * Collects the splits of one object. Each route gets its stable key: its name when it has one (a
 * repeated name gets `#2`, `#3` after the first), otherwise its position as `<list>[<index>]`;
 * and its backends get distinct display names.
 */
export class RouteSplits {
  readonly splits: WeightedSplit[] = [];
  /** Made at the first named route: positional keys need none. */
  #seen: Map<string, number> | undefined;

  constructor(readonly source: SplitSource) {}

  add(route: FoundRoute): void {
    this.splits.push({
      key: this.#key(route.list, route.index, route.name),
      label: routeLabel(route.index, route.name, route.qualifier),
      path: route.path,
      namespace: this.source.namespace,
      rootService: route.rootService ?? this.source.name,
      backends: distinctNames(route.backends),
      source: this.source,
    });
  }

  #key(list: string, index: number, name: string | undefined): string {
    if (name === undefined || name === '') return `${list}[${index}]`;
    const seen = (this.#seen ??= new Map<string, number>());
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
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
  // Names rarely repeat: then the list is kept as it is.
  if (!hasRepeat(backends, (b) => b.name)) return backends;
  const counts = new Map<string, number>();
  for (const b of backends) counts.set(b.name, (counts.get(b.name) ?? 0) + 1);
  return backends.map((b) =>
    (counts.get(b.name) ?? 0) > 1 ? { ...b, name: `${b.name} [${b.id}]` } : b,
  );
}
