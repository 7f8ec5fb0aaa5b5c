/**
 * What every kind's flow reader shares: backend identity (FQDN in the object's namespace, subset,
 * and a port only when one host appears with two ports in the object), exact shares, and the
 * link from a raw route to the weights its weighted-route reader already read.
 */
import type { LocatedError, SplitBackend, WeightedSplit } from '../model.js';
import { bigIntOf } from '../numbers.js';
import { rational, type Rational } from '../rational.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../service-name.js';
import { hasRepeat } from '../../util/lists.js';
import type { Condition, FlowObject, FlowRoute, Outcome, Precedence, RootRef } from './model.js';

/** A backend as a flow reader found it, before ports are settled. */
export interface RawBackend {
  /** The addressed thing, normalized (`reviews.shop.svc.cluster.local`, `upstream:ns/name`). */
  readonly base: string;
  readonly subset?: string;
  readonly port?: number;
  readonly weight: bigint;
  /** As written, for messages. */
  readonly name: string;
}

export type PendingOutcome =
  Outcome | { readonly kind: 'backends'; readonly backends: RawBackend[] };

export interface PendingRoute extends Omit<FlowRoute, 'outcome'> {
  readonly outcome: PendingOutcome;
}

/** The whole match: `[[]]`. */
export const EVERYTHING: readonly (readonly Condition[])[] = [[]];

/** Istio's reading of a host: a name without dots is a short name in the object's namespace. */
export function hostFqdn(host: string, namespace: string): string {
  return known(FQDNS, namespace, host) ?? remember(FQDNS, namespace, host, fqdnOf(host, namespace));
}

function fqdnOf(host: string, namespace: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === '' || h.includes('*') || h.includes('.')) return h;
  return `${h}.${namespace}.svc.${DEFAULT_CLUSTER_DOMAIN}`;
}

/** A Kubernetes Service's in-cluster host. */
export function serviceHost(name: string, namespace: string): string {
  return (
    known(SERVICE_HOSTS, namespace, name) ??
    remember(
      SERVICE_HOSTS,
      namespace,
      name,
      `${name.toLowerCase()}.${namespace}.svc.${DEFAULT_CLUSTER_DOMAIN}`,
    )
  );
}

/**
 * Hosts and ids already built, by their two parts (namespace and name, or host and subset).
 * Backend ids key every map of the traffic model, and a string built afresh is flattened and
 * hashed at its first look-up: that was most of the cost of reading a route's backends. Bounded
 * in count and length, since names come from requests.
 */
type HostCache = Map<string, Map<string, string>>;
const FQDNS: HostCache = new Map();
const SERVICE_HOSTS: HostCache = new Map();
/** Backend ids with a subset (`host#v2`), by host and subset: they key the share maps too. */
const SUBSET_IDS: HostCache = new Map();
const MAX_CACHED_HOSTS = 4096;
/** A DNS name is at most 253 characters; with a subset or port, a little more. */
const MAX_CACHED_LENGTH = 320;
let cachedHosts = 0;

function known(cache: HostCache, namespace: string, name: string): string | undefined {
  return cache.get(namespace)?.get(name);
}

function remember(cache: HostCache, namespace: string, name: string, host: string): string {
  // A long name is rare and would hold its bytes across reviews: built each time instead.
  if (host.length > MAX_CACHED_LENGTH) return host;
  if (cachedHosts >= MAX_CACHED_HOSTS) {
    FQDNS.clear();
    SERVICE_HOSTS.clear();
    SUBSET_IDS.clear();
    cachedHosts = 0;
  }
  let names = cache.get(namespace);
  if (names === undefined) cache.set(namespace, (names = new Map<string, string>()));
  names.set(name, host);
  cachedHosts += 1;
  return host;
}

function subsetId(base: string, subset: string): string {
  return known(SUBSET_IDS, base, subset) ?? remember(SUBSET_IDS, base, subset, `${base}#${subset}`);
}

/** Splits a backend id into what it addresses and its subset (`host#v2` → host, v2). */
export function subsetOf(id: string): { base: string; subset: string | undefined } {
  const at = id.indexOf('#');
  return at === -1
    ? { base: id, subset: undefined }
    : { base: id.slice(0, at), subset: id.slice(at + 1) };
}

/**
 * The backends a weighted-route reader read at one route path, found by their own path. Readers
 * list a route's backends in written order, so the j-th entry is tried first: building a map of
 * each route's backends (and hashing every path) was much of a flow reader's time.
 */
export class SplitReading {
  constructor(readonly backends: readonly SplitBackend[]) {}

  get size(): number {
    return this.backends.length;
  }

  /** The backend read at `path`; `hint` is its place in the list as written. */
  get(path: string, hint: number): SplitBackend | undefined {
    const guess = this.backends[hint];
    if (guess !== undefined && guess.path === path) return guess;
    return this.backends.find((b) => b.path === path);
  }
}

/** What a weighted-route reader read at this route path; undefined when it read nothing there. */
export function splitAt(splits: readonly WeightedSplit[], path: string): SplitReading | undefined {
  const split = splits.find((s) => s.path === path);
  return split ? new SplitReading(split.backends) : undefined;
}

/** The first reader error inside `path`, if any. */
export function errorWithin(
  errors: readonly LocatedError[],
  path: string,
): LocatedError | undefined {
  return errors.find(
    (e) => e.path === path || e.path.startsWith(`${path}.`) || e.path.startsWith(`${path}[`),
  );
}

/** `unreadable` with the reader's own words. */
export function unreadable(error: LocatedError): Outcome {
  return { kind: 'unreadable', reason: `${error.path}: ${error.message}` };
}

/** Settles ports and shares: the finished traffic of one object. `routes` are settled in place. */
export function finish(
  roots: readonly RootRef[],
  routes: PendingRoute[],
  precedence: Precedence,
  errors: readonly LocatedError[],
  protocols?: readonly string[],
): FlowObject {
  const ports = portConflicts(routes);
  const names = new Map<string, string>();
  const idOf = (b: RawBackend): string => {
    const many =
      ports !== undefined &&
      b.port !== undefined &&
      Number.isNaN(ports.get(b.base)?.get(b.subset ?? '') ?? 0);
    const base = many ? `${b.base}:${b.port}` : b.base;
    return b.subset === undefined ? base : subsetId(base, b.subset);
  };
  // The readers make their pending routes for this call: a spread copy of each cost more than
  // settling it.
  const done = routes as { -readonly [K in keyof PendingRoute]: PendingRoute[K] }[];
  for (const r of done) {
    if (r.outcome.kind !== 'backends') continue;
    const ids = r.outcome.backends.map((b) => {
      const id = idOf(b);
      if (!names.has(id)) names.set(id, b.name);
      return id;
    });
    const shares = sharesOf(r.outcome.backends, ids);
    r.outcome = shares === undefined ? { kind: 'zero' } : { kind: 'shares', shares };
  }
  const settled = done as FlowRoute[];
  for (const r of settled)
    if (r.outcome.kind === 'opaque') names.set(r.outcome.id, r.outcome.reason);
  return {
    roots: dedupeRoots(roots),
    routes: settled,
    precedence,
    names,
    errors,
    ...(protocols ? { protocols } : {}),
  };
}

/**
 * Hosts (with subset) written with two or more different ports in the object: base, then subset
 * ('' for none), to the first port seen or NaN once a second differs. Undefined when no host has
 * two ports (nearly always), so ids need no look-up.
 */
function portConflicts(
  routes: readonly PendingRoute[],
): Map<string, Map<string, number>> | undefined {
  // A conflict needs two different ports; one port everywhere (the usual case) needs no maps.
  let onePort: number | undefined;
  let manyPorts = false;
  for (const r of routes) {
    if (r.outcome.kind !== 'backends') continue;
    for (const b of r.outcome.backends) {
      if (b.port === undefined || b.port === onePort) continue;
      if (onePort === undefined) onePort = b.port;
      else manyPorts = true;
    }
  }
  if (!manyPorts) return undefined;
  let ports: Map<string, Map<string, number>> | undefined;
  let conflict = false;
  for (const r of routes) {
    if (r.outcome.kind !== 'backends') continue;
    for (const b of r.outcome.backends) {
      if (b.port === undefined) continue;
      ports ??= new Map();
      let bySubset = ports.get(b.base);
      if (bySubset === undefined) ports.set(b.base, (bySubset = new Map<string, number>()));
      const first = bySubset.get(b.subset ?? '');
      if (first === undefined) bySubset.set(b.subset ?? '', b.port);
      else if (first !== b.port) {
        bySubset.set(b.subset ?? '', NaN);
        conflict = true;
      }
    }
  }
  return conflict ? ports : undefined;
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Each id's exact share of the weights (summed when an id appears twice); undefined when every
 * weight is 0. Weights as written are small integers: summed and reduced as doubles, exactly,
 * while every figure stays a safe integer (bigint arithmetic costs far more); bigints past that.
 */
function sharesOf(
  backends: readonly RawBackend[],
  ids: readonly string[],
): Map<string, Rational> | undefined {
  let total = 0;
  let safe = true;
  for (const b of backends) {
    if (b.weight < 0n || b.weight > SAFE) safe = false;
    else total += Number(b.weight);
  }
  if (!safe || !Number.isSafeInteger(total)) return exactShares(backends, ids);
  if (total === 0) return undefined;
  const shares = new Map<string, Rational>();
  const share = (id: string, w: number) => {
    const g = w === 0 ? total : gcdOf(w, total);
    shares.set(id, { num: bigIntOf(w / g), den: bigIntOf(total / g) });
  };
  // Each id once (the common case): its own weight is its share, no sums to gather first. A
  // repeat is found in the share map itself.
  let repeated = false;
  for (let i = 0; i < ids.length && !repeated; i++) {
    const id = ids[i]!;
    if (shares.has(id)) repeated = true;
    else share(id, Number(backends[i]!.weight));
  }
  if (!repeated) return shares;
  shares.clear();
  const sums = new Map<string, number>();
  backends.forEach((b, i) => {
    const id = ids[i]!;
    sums.set(id, (sums.get(id) ?? 0) + Number(b.weight));
  });
  for (const [id, w] of sums) share(id, w);
  return shares;
}

function gcdOf(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const r = x % y;
    x = y;
    y = r;
  }
  return x;
}

function exactShares(
  backends: readonly RawBackend[],
  ids: readonly string[],
): Map<string, Rational> | undefined {
  let total = 0n;
  const sums = new Map<string, bigint>();
  backends.forEach((b, i) => {
    const id = ids[i]!;
    total += b.weight;
    sums.set(id, (sums.get(id) ?? 0n) + b.weight);
  });
  if (total === 0n) return undefined;
  const shares = new Map<string, Rational>();
  for (const [id, w] of sums) shares.set(id, rational(w, total));
  return shares;
}

function dedupeRoots(roots: readonly RootRef[]): readonly RootRef[] {
  if (!hasRepeat(roots, (r) => r.key)) return roots;
  const seen = new Map<string, RootRef>();
  for (const r of roots) if (!seen.has(r.key)) seen.set(r.key, r);
  return [...seen.values()];
}

/** Upper-cased HTTP methods of a list, ignoring anything that is not a string. */
export function methods(raw: unknown): string[] {
  return Array.isArray(raw)
    ? raw.filter((m): m is string => typeof m === 'string').map((m) => m.toUpperCase())
    : [];
}
