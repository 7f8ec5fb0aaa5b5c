import type { RuleContext } from '../admission/rule.js';
import type { KubeObject } from '../k8s/objects.js';
import type { SplitBackend, WeightedSplit } from '../traffic/model.js';
import { sharesById, ZERO, type Rational } from '../traffic/rational.js';
import type { RouteKindId } from '../mesh/routes.js';
import { routesUnderReview } from './route-reading.js';

/**
 * What a controller names a backend by: a Kubernetes Service (or App Mesh virtual node, Gloo
 * upstream) short name, and the subset when the route selects one. Read from the reader's
 * backend identity, per route kind.
 */
export interface BackendRef {
  /** Short name, without namespace, domain or port. */
  readonly name: string;
  readonly namespace?: string;
  readonly subset?: string;
  /** Gloo upstreams and Gateway API refs to other kinds are not Services. */
  readonly service: boolean;
}

export function backendRef(kind: RouteKindId, backend: SplitBackend): BackendRef {
  const id = backend.id;
  switch (kind) {
    case 'smi-trafficsplit':
      return { name: backend.service ?? id, service: true };
    case 'istio-virtualservice': {
      // host[:port][#subset]; Istio and Argo Rollouts compare the host's first label.
      const hash = id.indexOf('#');
      const host = (hash < 0 ? id : id.slice(0, hash)).replace(/:\d+$/, '');
      const subset = hash < 0 ? undefined : id.slice(hash + 1);
      const [name = host, namespace] = host.split('.');
      return {
        name,
        ...(namespace === undefined ? {} : { namespace }),
        ...(subset === undefined ? {} : { subset }),
        service: true,
      };
    }
    case 'gateway-httproute': {
      // [Kind.group/]namespace/name[:port]
      const parts = id.split('/');
      const qualified = parts.length > 2;
      const namespace = parts.at(-2);
      const name = (parts.at(-1) ?? id).replace(/:\d+$/, '');
      return { name, ...(namespace === undefined ? {} : { namespace }), service: !qualified };
    }
    case 'appmesh-virtualrouter': {
      const [namespace, rest = ''] = id.split('/');
      return {
        name: rest.replace(/:\d+$/, ''),
        ...(namespace === undefined ? {} : { namespace }),
        service: false,
      };
    }
    case 'gloo-virtualservice':
    case 'gloo-routetable': {
      // upstream:ns/name{subset} | kube:ns/name:port{subset} | consul:name{subset}
      const match = /^(upstream|kube|consul):(?:([^/]+)\/)?([^{:]+)(?::\d+)?\{(.*)\}$/.exec(id);
      if (!match) return { name: id, service: false };
      const [, type, namespace, name = id, subset] = match;
      return {
        name,
        ...(namespace === undefined ? {} : { namespace }),
        ...(subset === undefined || subset === '' ? {} : { subset }),
        service: type === 'kube',
      };
    }
    case 'consul-servicesplitter': {
      const [, namespace, name = id, subset] = id.split('/');
      return {
        name,
        ...(namespace === undefined || namespace === '' ? {} : { namespace }),
        ...(subset === undefined || subset === '' ? {} : { subset }),
        service: true,
      };
    }
    default:
      // A kind read here for the first time: its identity is taken whole, never as a Service.
      return { name: backend.service ?? id, service: backend.service !== undefined };
  }
}

/** One route of an object with each backend's exact share (undefined: the route sends nothing). */
export interface RouteShares {
  readonly split: WeightedSplit;
  readonly shares: ReadonlyMap<string, Rational> | undefined;
}

/** The weighted routes of an object under review with their shares; undefined when unread. */
export function objectRoutes(
  object: KubeObject,
  ctx: RuleContext,
): { kind: RouteKindId; routes: RouteShares[]; errors: number } | undefined {
  const read = routesUnderReview(object, ctx);
  if (!read.supported) return undefined;
  return {
    kind: read.kind,
    routes: read.splits.map((split) => ({ split, shares: sharesById(split) })),
    errors: read.errors.length,
  };
}

export function shareOf(route: RouteShares, id: string): Rational {
  return route.shares?.get(id) ?? ZERO;
}

/** Routes of the new object whose shares differ from the old object's route of the same key. */
export function changedRoutes(
  before: readonly RouteShares[],
  after: readonly RouteShares[],
): RouteShares[] {
  const old = new Map(before.map((r) => [r.split.key, r]));
  return after.filter((r) => {
    const prior = old.get(r.split.key);
    if (!prior) return true;
    const ids = new Set([...r.split.backends, ...prior.split.backends].map((b) => b.id));
    for (const id of ids) {
      const a = shareOf(prior, id);
      const b = shareOf(r, id);
      if (a.num * b.den !== b.num * a.den) return true;
    }
    return false;
  });
}
