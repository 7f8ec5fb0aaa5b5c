/**
 * The traffic an object routes, as the weight-shift guard judges it: for each root (what callers
 * address) and each traffic class (what a request looks like), which route serves it and the
 * exact share of each backend. Readers of each kind build a `FlowObject`; `evaluate.ts` decides
 * which route serves a probe request; `judge.ts` compares an old and a new object.
 */
import type { LocatedError } from '../model.js';
import type { Rational } from '../rational.js';

/** What callers address. `base` plus the optional parts decide containment (see `roots.ts`). */
export interface RootRef {
  /** Stable key, used in `meshwarden.io/stable-backends`. */
  readonly key: string;
  /** How messages name it, e.g. `reviews.shop.svc.cluster.local`. */
  readonly label: string;
  /** The addressed thing without port, section or hostname. */
  readonly base: string;
  readonly port?: number;
  readonly section?: string;
  /** A hostname within the parent (Gateway API hostnames, Gloo domains); `*` for any. */
  readonly host?: string;
  /** Istio: the gateway the traffic enters through (`mesh` for sidecars). */
  readonly gateway?: string;
}

/** How a header, query parameter or cookie value is matched. */
export type ValueOp = 'exact' | 'prefix' | 'suffix' | 'regex' | 'present' | 'other';

/** One normalized condition of a match; a match is the AND of its conditions. */
export type Condition =
  | {
      readonly kind: 'path';
      /** `segment` is Gateway API's PathPrefix (element-wise); `prefix` is a string prefix. */
      readonly op: 'exact' | 'prefix' | 'segment' | 'regex';
      readonly value: string;
      readonly ignoreCase?: boolean;
    }
  | { readonly kind: 'method'; readonly values: readonly string[] }
  | {
      readonly kind: 'header' | 'query' | 'cookie';
      readonly name: string;
      readonly op: ValueOp;
      readonly value: string;
      /** Matches requests WITHOUT such a value (Istio withoutHeaders, App Mesh/Gloo invert). */
      readonly negated: boolean;
    }
  | { readonly kind: 'port'; readonly port: number }
  | { readonly kind: 'gateway'; readonly values: readonly string[] }
  /** A condition meshwarden cannot evaluate (source labels, unresolved route groups, ...). */
  | { readonly kind: 'opaque'; readonly key: string; readonly text: string };

/** Where a route sends what it serves. */
export type Outcome =
  | { readonly kind: 'shares'; readonly shares: ReadonlyMap<string, Rational> }
  /** Every weight is 0: requests fail. */
  | { readonly kind: 'zero' }
  /** The route could not be read. */
  | { readonly kind: 'unreadable'; readonly reason: string }
  /** Sent somewhere meshwarden does not read (delegation, UpstreamGroup, redirect). */
  | { readonly kind: 'opaque'; readonly id: string; readonly reason: string };

/** One route of an object, with what it matches and where it sends it. */
export interface FlowRoute {
  /** Name when it has one, else position: used to say "route X is new". */
  readonly key: string;
  readonly label: string;
  readonly path: string;
  /** The roots it serves; undefined for every root of the object. */
  readonly roots?: readonly string[];
  /** Protocol family of the traffic it serves (`http`, `tcp`, `tls`, `grpc`, ...). */
  readonly protocol: string;
  /** OR of ANDs; `[[]]` matches everything. */
  readonly alternatives: readonly (readonly Condition[])[];
  /** Specificity per alternative, highest first (Gateway API); absent in first-match kinds. */
  readonly ranks?: readonly (readonly number[])[];
  /** Its place against other routes is not exactly known (regex rank, no priority). */
  readonly ambiguous?: boolean;
  readonly outcome: Outcome;
}

export type Precedence = 'first-match' | 'specificity';

/** The traffic of one object. */
export interface FlowObject {
  readonly roots: readonly RootRef[];
  /** In the kind's written order (priority-sorted for App Mesh). */
  readonly routes: readonly FlowRoute[];
  readonly precedence: Precedence;
  /** Protocols whose requests are judged (a root's listeners); every route's when absent. */
  readonly protocols?: readonly string[];
  /** How messages name each backend id, as written in the object. */
  readonly names: ReadonlyMap<string, string>;
  /** What the reader could not read (already attached to routes as `unreadable`). */
  readonly errors: readonly LocatedError[];
}

/** A request shape used to find which route serves a class of traffic. */
export interface Probe {
  readonly key: string;
  /** A concrete path, or a path known only to match this regular expression. */
  readonly path: string | { readonly regex: string };
  readonly method: string;
  readonly port?: number;
  readonly protocol: string;
  /** Header, query and cookie values: `name` lower-case → value (or a regex it matches). */
  readonly values: ReadonlyMap<string, string | { readonly regex: string }>;
  /** Carries a header, query parameter or cookie: opt-in traffic. */
  readonly targeted: boolean;
  /** For messages: `requests to /api`, `GET requests`, ... ('' for the catch-all). */
  readonly label: string;
}
