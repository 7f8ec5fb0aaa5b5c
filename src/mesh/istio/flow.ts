/** The traffic of an Istio VirtualService: roots are hosts (FQDN) per gateway; first match wins. */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../../traffic/model.js';
import { routeLabel } from '../../traffic/read-common.js';
import {
  errorWithin,
  EVERYTHING,
  finish,
  hostFqdn,
  splitAt,
  unreadable,
  type PendingOutcome,
  type PendingRoute,
  type RawBackend,
} from '../../traffic/flow/build.js';
import type { Condition, FlowObject, RootRef, ValueOp } from '../../traffic/flow/model.js';

function stringMatch(raw: unknown): { op: ValueOp; value: string } {
  const m = asRecord(raw) ?? {};
  for (const op of ['exact', 'prefix', 'regex'] as const)
    if (typeof m[op] === 'string') return { op, value: m[op] };
  return { op: Object.keys(m).length === 0 ? 'present' : 'other', value: '' };
}

function gatewayName(g: string, namespace: string): string {
  return g === 'mesh' || g.includes('/') ? g : `${namespace}/${g}`;
}

/** Pushes one condition per entry of a header or query map, each built whole (no spreads). */
function pushValueConditions(
  out: Condition[],
  kind: 'header' | 'query',
  raw: unknown,
  negated: boolean,
): void {
  const map = asRecord(raw);
  if (!map) return;
  for (const name of Object.keys(map)) {
    const { op, value } = stringMatch(map[name]);
    out.push({ kind, name, negated, op, value });
  }
}

function httpMatch(raw: unknown, namespace: string): Condition[] {
  const m = asRecord(raw) ?? {};
  const out: Condition[] = [];
  const uri = asRecord(m.uri);
  if (uri) {
    const { op, value } = stringMatch(uri);
    if (op === 'exact' || op === 'prefix' || op === 'regex')
      out.push(
        m.ignoreUriCase === true
          ? { kind: 'path', op, value, ignoreCase: true }
          : { kind: 'path', op, value },
      );
    else out.push({ kind: 'opaque', key: `uri:${JSON.stringify(uri)}`, text: 'uri' });
  }
  const method = asRecord(m.method);
  if (method) {
    const { op, value } = stringMatch(method);
    out.push(
      op === 'exact'
        ? { kind: 'method', values: [value.toUpperCase()] }
        : { kind: 'opaque', key: `method:${JSON.stringify(method)}`, text: 'method' },
    );
  }
  pushValueConditions(out, 'header', m.headers, false);
  pushValueConditions(out, 'header', m.withoutHeaders, true);
  pushValueConditions(out, 'query', m.queryParams, false);
  pushCommon(out, m, namespace);
  for (const key of OTHER_HTTP_KEYS)
    if (m[key] !== undefined)
      out.push({ kind: 'opaque', key: `${key}:${JSON.stringify(m[key])}`, text: key });
  return out;
}

/** Match fields meshwarden cannot evaluate: each is an unknown of its own. */
const OTHER_HTTP_KEYS = ['authority', 'scheme'] as const;
const SOURCE_KEYS = [
  'sourceLabels',
  'sourceNamespace',
  'destinationSubnets',
  'sniHosts',
  'sourceSubnet',
] as const;

/** Conditions every Istio match kind shares: port, gateways, and the source of the request. */
function pushCommon(out: Condition[], m: Record<string, unknown>, namespace: string): void {
  if (typeof m.port === 'number') out.push({ kind: 'port', port: m.port });
  const gateways = asArray(m.gateways)?.filter((g): g is string => typeof g === 'string');
  if (gateways && gateways.length > 0)
    out.push({ kind: 'gateway', values: gateways.map((g) => gatewayName(g, namespace)) });
  for (const key of SOURCE_KEYS)
    if (m[key] !== undefined)
      out.push({ kind: 'opaque', key: `${key}:${JSON.stringify(m[key])}`, text: key });
}

function common(m: Record<string, unknown>, namespace: string): Condition[] {
  const out: Condition[] = [];
  pushCommon(out, m, namespace);
  return out;
}

export function istioFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const spec = asRecord(object.spec) ?? {};
  // A short name and its FQDN give one root key: `finish` keeps the first root of each key.
  const hosts = (asArray(spec.hosts) ?? [])
    .filter((h): h is string => typeof h === 'string')
    .map((h) => hostFqdn(h, namespace));
  const gateways = (asArray(spec.gateways) ?? [])
    .filter((g): g is string => typeof g === 'string')
    .map((g) => gatewayName(g, namespace));
  const roots: RootRef[] = [];
  // A VirtualService without hosts is a delegate: its traffic is whatever its parent sends it.
  const rootHosts =
    hosts.length > 0 ? hosts : [`VirtualService ${namespace}/${object.metadata?.name ?? ''}`];
  for (const host of rootHosts)
    for (const gateway of gateways.length > 0 ? gateways : ['mesh'])
      roots.push({
        key: gateway === 'mesh' ? host : `${host}@${gateway}`,
        label: gateway === 'mesh' ? host : `${host} (gateway ${gateway})`,
        base: host,
        gateway,
      });
  const routes: PendingRoute[] = [];
  for (const list of ['http', 'tcp', 'tls'] as const) {
    (asArray(spec[list]) ?? []).forEach((item, i) => {
      const route = asRecord(item);
      if (!route) return;
      const path = `spec.${list}[${i}]`;
      const name =
        list === 'http' && typeof route.name === 'string' && route.name !== ''
          ? route.name
          : undefined;
      const matches = asArray(route.match) ?? [];
      const alternatives =
        matches.length === 0
          ? EVERYTHING
          : matches.map((m) =>
              list === 'http' ? httpMatch(m, namespace) : common(asRecord(m) ?? {}, namespace),
            );
      const outcome = istioOutcome(route, path, splits, errors, namespace);
      if (!outcome) return;
      routes.push({
        key: name ?? `${list}[${i}]`,
        label: routeLabel(i, name, list === 'http' ? '' : list),
        path,
        protocol: list,
        alternatives,
        outcome,
      });
    });
  }
  return finish(roots, routes, 'first-match', errors);
}

function istioOutcome(
  route: Record<string, unknown>,
  path: string,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): PendingOutcome | undefined {
  const error = errorWithin(errors, path);
  if (error) return unreadable(error);
  const delegate = asRecord(route.delegate);
  if (delegate) {
    const ref = `${typeof delegate.namespace === 'string' ? delegate.namespace : namespace}/${String(delegate.name)}`;
    return {
      kind: 'opaque',
      id: `?delegate:${ref}`,
      reason: `the routes of delegate VirtualService ${ref} (their weights are not read here)`,
    };
  }
  if (route.redirect !== undefined)
    return {
      kind: 'opaque',
      id: `?redirect:${JSON.stringify(route.redirect)}`,
      reason: 'a redirect',
    };
  if (route.route === undefined || route.route === null) {
    return route.directResponse !== undefined ? { kind: 'shares', shares: new Map() } : undefined;
  }
  const read = splitAt(splits, path);
  const list = asArray(route.route) ?? [];
  // The reader reads every destination of a route, in order, or none (read.ts).
  if (!read || read.size !== list.length)
    return { kind: 'unreadable', reason: `${path}.route could not be read` };
  const backends: RawBackend[] = [];
  for (let j = 0; j < list.length; j++) {
    const b = read.backends[j];
    if (!b) continue;
    const dest = asRecord(asRecord(list[j])?.destination) ?? {};
    const port = asRecord(dest.port)?.number;
    // Assigned, not spread in: conditional spreads were most of this loop's time.
    const backend: { -readonly [K in keyof RawBackend]: RawBackend[K] } = {
      base: hostFqdn(String(dest.host), namespace),
      weight: b.weight,
      name: b.name,
    };
    if (typeof dest.subset === 'string' && dest.subset !== '') backend.subset = dest.subset;
    if (typeof port === 'number') backend.port = port;
    backends.push(backend);
  }
  return { kind: 'backends', backends };
}
