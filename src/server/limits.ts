import { WEIGHTED_ROUTE_KINDS } from '../mesh/routes.js';

/**
 * What one caller may cost the server: connections, bytes held, reviews in flight, time, and
 * work per object. Every limit is a `serve` flag; the defaults keep a replica under the chart's
 * 512 MiB memory limit (docs/performance.md, "Memory model").
 */
export interface ServerLimits {
  /** Open connections (TLS included) at once; more are dropped at accept. */
  readonly maxConnections: number;
  /** Request bytes held in memory across all reviews being read or judged. */
  readonly maxBufferedBytes: number;
  /** Reviews being read or judged at once. */
  readonly maxReviewsInFlight: number;
  /** A whole request (headers and body) must arrive within this time. */
  readonly requestTimeoutMs: number;
  /** A request's headers must arrive within this time (each request on a keep-alive socket). */
  readonly headersTimeoutMs: number;
  /** A TLS handshake must finish within this time. */
  readonly handshakeTimeoutMs: number;
  /** Bodies above this size are parsed and screened off the event loop. */
  readonly offloadBytes: number;
  /** Worker threads that screen large bodies. */
  readonly screenWorkers: number;
  readonly work: WorkLimits;
}

/**
 * Work per route object, checked before the rules run. The traffic model's work grows faster
 * than an object's size (probes times routes), so the kinds it reads are bounded; every other
 * rule is linear in what it reads, and a Deployment's affinity `weight`s are no backends.
 */
export interface WorkLimits {
  /** Weighted backends (objects carrying `weight`) under `spec`. */
  readonly maxBackends: number;
  /** Route entries (elements of `http`, `tcp`, `tls`, `rules`, `routes` lists) under `spec`. */
  readonly maxRoutes: number;
}

/** Seconds from SIGTERM to the end of the drain (the chart's grace period is 30 s, after a 5 s preStop pause). */
export const DEFAULT_SHUTDOWN_SECONDS = 20;

export const DEFAULT_WORK_LIMITS: WorkLimits = { maxBackends: 1000, maxRoutes: 1000 };

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 1000,
  maxBufferedBytes: 32 * 1024 * 1024,
  maxReviewsInFlight: 64,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  handshakeTimeoutMs: 10_000,
  offloadBytes: 256 * 1024,
  screenWorkers: 1,
  work: DEFAULT_WORK_LIMITS,
};

const BOUNDED_KINDS: ReadonlySet<string> = new Set(
  WEIGHTED_ROUTE_KINDS.map((k) => `${k.group}/${k.kind}`),
);

/** The work limits apply to this kind: one the traffic model reads. */
export function workBounded(group: string, kind: string): boolean {
  return BOUNDED_KINDS.has(`${group}/${kind}`);
}

export interface WorkCount {
  readonly backends: number;
  readonly routes: number;
}

/**
 * Counts the routes and backends of an object in one pass without recursion (an object nested
 * 400,000 levels deep must not overflow the stack). Self-contained on purpose: the screening
 * worker runs this function's source text, so it may use nothing from outside its body.
 */
export function countWork(object: unknown, stopAt: number): WorkCount {
  // Route lists and weight fields of every guarded kind (Knative's are `traffic` and `percent`).
  const routeKeys = ['http', 'tcp', 'tls', 'rules', 'routes', 'traffic'];
  let backends = 0;
  let routes = 0;
  const spec =
    object !== null && typeof object === 'object' && !Array.isArray(object)
      ? (object as Record<string, unknown>).spec
      : undefined;
  if (spec === null || typeof spec !== 'object') return { backends, routes };
  const stack: unknown[] = [spec];
  while (stack.length > 0 && backends <= stopAt && routes <= stopAt) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    const record = node as Record<string, unknown>;
    if (
      Object.prototype.hasOwnProperty.call(record, 'weight') ||
      Object.prototype.hasOwnProperty.call(record, 'percent')
    )
      backends++;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value === null || typeof value !== 'object') continue;
      if (Array.isArray(value) && routeKeys.includes(key)) routes += value.length;
      stack.push(value);
    }
  }
  return { backends, routes };
}

/** The refusal for an object over the work limits, or undefined when it is within them. */
export function workProblem(count: WorkCount, limits: WorkLimits): string | undefined {
  if (count.backends > limits.maxBackends)
    return `the object has more than ${limits.maxBackends} weighted backends (found at least ${count.backends}); meshwarden does not judge objects this large: split it`;
  if (count.routes > limits.maxRoutes)
    return `the object has more than ${limits.maxRoutes} route entries (found at least ${count.routes}); meshwarden does not judge objects this large: split it`;
  return undefined;
}

/**
 * Keys `countWork` looks for, as JSON spells them plainly and followed by their colon (so a
 * port named "http" is no key), and `\u00XX` escapes that could spell a letter of one in
 * disguise. Route lists first in the alternation: any of them ends the scan.
 */
const WORK_KEYS = /"(?:(http|tcp|tls|rules|routes|traffic)|weight|percent)"\s*:|(\\u00[4-7])/g;

/**
 * True when the text of a body shows, without parsing it, that its object is within the work
 * limits: no route-list key, at most `maxBackends` weight keys (each object carrying one has its
 * own), and no escape that could spell such a key. Cheaper than parsing a large body in the
 * screening worker; false sends it there.
 */
export function provablyWithinLimits(text: string, limits: WorkLimits): boolean {
  WORK_KEYS.lastIndex = 0;
  let weights = 0;
  for (let m = WORK_KEYS.exec(text); m !== null; m = WORK_KEYS.exec(text)) {
    if (m[1] !== undefined || m[2] !== undefined) return false;
    if (++weights > limits.maxBackends) return false;
  }
  return true;
}
