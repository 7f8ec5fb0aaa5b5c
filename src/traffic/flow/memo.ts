import type { Condition, FlowObject, FlowRoute, Probe, RootRef } from './model.js';

/** One alternative of a route, in the order routes are tried for a root and protocol. */
export interface RouteEntry {
  readonly route: FlowRoute;
  readonly alt: readonly Condition[];
  readonly rank: readonly number[];
  readonly order: number;
}

/**
 * What one comparison of flow objects (one review) asks of the same objects several times,
 * computed once: route entries per root and protocol, probes, common backends, condition texts.
 * Plain maps dropped with the memo: weak maps keyed on per-review objects cost the garbage
 * collector more than they saved. Flow objects and their conditions never change once built.
 */
export class FlowMemo {
  /** Keyed by the root object and then protocol: no key string is built per look-up. */
  readonly entries = new Map<RootRef, Map<string, readonly RouteEntry[]>>();
  /** Each object's probe parts and probes (see `objectProbes`). */
  readonly probes = new Map<FlowObject, { parts: ProbeParts; probes: readonly Probe[] }>();
  readonly common = new Map<RootRef, CommonBackends>();
  readonly canon = new Map<Condition, string>();
  /** Per root and probe key: what one walk of the root's routes found (see `walk`). */
  readonly walks = new Map<RootRef, Map<string, Walk>>();
  /** Per route: the backends it gives a strict majority and all of its traffic. */
  readonly routeCommon = new Map<FlowRoute, CommonBackends>();
  /** Each object's probe parts, for its probes and `uniformProbes`. */
  readonly parts = new Map<FlowObject, ProbeParts>();
  /** Per root and protocol: whether its untargeted requests all take one route (`evaluate.ts`). */
  readonly uniform = new Map<RootRef, Map<string, boolean>>();
}

export interface Walk {
  /** The unknowns met, in order; none is the common case. */
  readonly atoms: readonly string[];
  /** The first route whose conditions all hold; meaningful only without unknowns. */
  readonly served: FlowRoute | undefined;
}

/** A root's backend reached by a strict majority, and by all, of its untargeted requests. */
export interface CommonBackends {
  readonly majority: string | undefined;
  readonly all: string | undefined;
}

/** What objects' routes call for, in the order first met: the parts probes are built from. */
export interface ProbeParts {
  readonly protocols: ReadonlySet<string>;
  readonly paths: ReadonlySet<string>;
  readonly regexes: ReadonlySet<string>;
  readonly methods: ReadonlySet<string>;
  readonly ports: ReadonlySet<number | undefined>;
  /** One probe per targeted match, by key (once, however many routes or objects repeat it). */
  readonly targeted: ReadonlyMap<string, Probe>;
}
