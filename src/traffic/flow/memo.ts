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
  // Each map is made on first use: a review asks only some of these questions, and an empty map
  // costs about 200 bytes.
  #entries?: Map<RootRef, RootLists>;
  #probes?: Map<FlowObject, { parts: ProbeParts; probes: readonly Probe[] }>;
  #common?: Map<RootRef, CommonBackends>;
  #canon?: Map<Condition, string>;
  #walks?: Map<RootRef, Map<string, Walk>>;
  #routeCommon?: Map<FlowRoute, CommonBackends>;
  #parts?: Map<FlowObject, ProbeParts>;
  #uniform?: Map<ProbeParts, readonly Probe[]>;

  /** Keyed by the root object and then protocol: no key string is built per look-up. */
  get entries(): Map<RootRef, RootLists> {
    return (this.#entries ??= new Map());
  }
  /** Each object's probe parts and probes (see `objectProbes`). */
  get probes(): Map<FlowObject, { parts: ProbeParts; probes: readonly Probe[] }> {
    return (this.#probes ??= new Map());
  }
  get common(): Map<RootRef, CommonBackends> {
    return (this.#common ??= new Map());
  }
  get canon(): Map<Condition, string> {
    return (this.#canon ??= new Map());
  }
  /** Per root and probe key: what one walk of the root's routes found (see `walk`). */
  get walks(): Map<RootRef, Map<string, Walk>> {
    return (this.#walks ??= new Map());
  }
  /** Per route: the backends it gives a strict majority and all of its traffic. */
  get routeCommon(): Map<FlowRoute, CommonBackends> {
    return (this.#routeCommon ??= new Map());
  }
  /** Each object's probe parts, for its probes and `uniformProbes`. */
  get parts(): Map<FlowObject, ProbeParts> {
    return (this.#parts ??= new Map());
  }
  /** The short probe list of `uniformProbes`, per parts (equal parts are one object, see `partsFor`). */
  get uniform(): Map<ProbeParts, readonly Probe[]> {
    return (this.#uniform ??= new Map());
  }
}

/** A root's route entries for one protocol, and whether its untargeted requests all take one route. */
export interface RouteList {
  readonly entries: readonly RouteEntry[];
  uniform?: boolean;
}

/** A root's lists: the first protocol asked in place, any other in a map (most roots have one). */
export interface RootLists {
  readonly protocol: string;
  readonly list: RouteList;
  others?: Map<string, RouteList>;
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
