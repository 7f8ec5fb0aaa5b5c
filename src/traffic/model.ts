/**
 * One model for every weighted route meshwarden reads: SMI TrafficSplits and the native routing
 * objects of each mesh. Weights stay raw integers in the unit of their kind; shares are derived
 * as exact rationals (see `rational.ts`), so comparisons never depend on rounding.
 */

/** Where a split came from. */
export interface SplitSource {
  readonly apiVersion: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** One destination of a split. */
export interface SplitBackend {
  /**
   * Stable identity within its split, used to pair a backend in an old and a new object
   * (a Service name, host plus subset, upstream plus subset values, ...).
   */
  readonly id: string;
  /** How messages name this backend, e.g. `reviews-v2` or `reviews (subset v2)`. */
  readonly name: string;
  /**
   * Raw weight: a non-negative integer in the unit of the kind (TrafficSplit v1alpha1: milli
   * units of the quantity; Consul: the percentage scaled to a whole number; others: as written).
   */
  readonly weight: bigint;
  /** Field path of this backend's entry, e.g. `spec.http[0].route[1]`. */
  readonly path: string;
  /** TrafficSplits only: the Kubernetes Service (short name, in the split's namespace). */
  readonly service?: string;
}

/** One SMI HTTPRouteGroup match (specs.smi-spec.io), resolved from a TrafficSplit's `spec.matches`. */
export interface HttpMatch {
  /** `<route group>/<match name>`. */
  readonly name: string;
  /** Anchored at the start of the path only (SMI semantics). */
  readonly pathRegex?: string;
  /** Upper-case HTTP methods; absent or containing `*` means any method. */
  readonly methods?: readonly string[];
  /** Header name (lower case) to regular expression; all must match. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A TrafficSplit `spec.matches` entry as written (v1alpha3 and later). */
export interface MatchRef {
  readonly kind: string;
  readonly name: string;
  readonly path: string;
}

/**
 * One weighted route: the traffic of one root (a Service, host or router) divided between
 * ordered backends. A TrafficSplit is one split; a VirtualService has one per weighted route.
 */
export interface WeightedSplit {
  /**
   * Stable key of the route within its object: the route's name when it has one, otherwise its
   * position (`http[0]`, `rules[1]`, ...). Old and new objects are compared key by key.
   */
  readonly key: string;
  /** How messages name the route, e.g. `route 0`, `route "canary"`, `backends`. */
  readonly label: string;
  /** Field path of the route, e.g. `spec.http[0]`. */
  readonly path: string;
  readonly namespace: string;
  /** The Service (or host, or router) whose traffic is split. Short name for TrafficSplits. */
  readonly rootService: string;
  /** In input order: the order is the last tie-break when rounding. */
  readonly backends: readonly SplitBackend[];
  /** TrafficSplit v1alpha3+ `spec.matches` as written. */
  readonly matchRefs?: readonly MatchRef[];
  /** The HTTP matches those refer to, once resolved against HTTPRouteGroups. */
  readonly matches?: readonly HttpMatch[];
  readonly source: SplitSource;
}

/** Something a reader could not read or would not accept, located in the object. */
export interface LocatedError {
  /** Dotted field path, e.g. `spec.backends[1].weight`. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** The sum of a split's raw weights. */
export function totalWeight(split: Pick<WeightedSplit, 'backends'>): bigint {
  let total = 0n;
  for (const b of split.backends) total += b.weight;
  return total;
}
