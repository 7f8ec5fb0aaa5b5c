/**
 * The traffic of a Gateway API route (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute, and
 * Linkerd's own HTTPRoute of the same shape). Roots are parentRefs (with section and
 * port) and, for Gateways, hostnames. HTTP and gRPC rules are chosen by the specification's
 * specificity order, then rule order.
 */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../../traffic/model.js';
import {
  errorWithin,
  finish,
  serviceHost,
  splitAt,
  unreadable,
  type PendingOutcome,
  type PendingRoute,
  type RawBackend,
} from '../../traffic/flow/build.js';
import type { Condition, FlowObject, RootRef } from '../../traffic/flow/model.js';

export type GatewayRouteFamily = 'http' | 'grpc' | 'tcp' | 'tls' | 'udp';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function parentRoots(spec: Record<string, unknown>, namespace: string, self: string): RootRef[] {
  const hostnames = (asArray(spec.hostnames) ?? [])
    .filter((h): h is string => typeof h === 'string')
    .map((h) => h.toLowerCase());
  const roots: RootRef[] = [];
  for (const item of asArray(spec.parentRefs) ?? []) {
    const ref = asRecord(item);
    const name = str(ref?.name);
    if (!ref || !name) continue;
    const rawGroup = typeof ref.group === 'string' ? ref.group : 'gateway.networking.k8s.io';
    const group = rawGroup === 'core' ? '' : rawGroup;
    const kind = str(ref.kind) ?? 'Gateway';
    const ns = str(ref.namespace) ?? namespace;
    const service = kind === 'Service' && group === '';
    const base = service
      ? serviceHost(name, ns)
      : `${kind}${group === '' ? '' : `.${group}`} ${ns}/${name}`;
    const section = str(ref.sectionName);
    const port = typeof ref.port === 'number' ? ref.port : undefined;
    const head = `${base}${section === undefined ? '' : `/${section}`}${port === undefined ? '' : `:${port}`}`;
    // A mesh route's parent is the Service itself: hostnames do not apply.
    for (const host of service || hostnames.length === 0 ? [undefined] : hostnames) {
      // Assigned, not spread in: conditional spreads cost more than the rest of the root.
      const root: { -readonly [K in keyof RootRef]: RootRef[K] } = {
        key: host === undefined ? head : `${head}@${host}`,
        label: host === undefined ? head : `${head} (hostname ${host})`,
        base,
      };
      if (section !== undefined) root.section = section;
      if (port !== undefined) root.port = port;
      if (host !== undefined) root.host = host;
      roots.push(root);
    }
  }
  if (roots.length === 0) roots.push({ key: self, label: self, base: self });
  return roots;
}

function valueConditions(kind: 'header' | 'query', raw: unknown): Condition[] {
  return (asArray(raw) ?? []).flatMap((item) => {
    const m = asRecord(item);
    const name = str(m?.name);
    if (!m || !name) return [];
    const op =
      m.type === 'RegularExpression'
        ? 'regex'
        : m.type === undefined || m.type === 'Exact'
          ? 'exact'
          : 'other';
    return [
      {
        kind,
        name,
        op,
        value: typeof m.value === 'string' ? m.value : '',
        negated: false,
      },
    ];
  });
}

/** One HTTP match: its conditions and its rank (exact > longest prefix > method > headers > query). */
function httpMatch(raw: unknown): { conditions: Condition[]; rank: number[]; regex: boolean } {
  const m = asRecord(raw) ?? {};
  const p = asRecord(m.path);
  const type = typeof p?.type === 'string' ? p.type : 'PathPrefix';
  const value = typeof p?.value === 'string' ? p.value : '/';
  const conditions: Condition[] = [];
  const op = type === 'Exact' ? 'exact' : type === 'RegularExpression' ? 'regex' : 'segment';
  if (!(op === 'segment' && value === '/')) conditions.push({ kind: 'path', op, value });
  if (typeof m.method === 'string')
    conditions.push({ kind: 'method', values: [m.method.toUpperCase()] });
  const headers = valueConditions('header', m.headers);
  const query = valueConditions('query', m.queryParams);
  conditions.push(...headers, ...query);
  const rank = [
    op === 'exact' ? 3 : op === 'segment' ? 2 : 1,
    op === 'regex' ? 0 : value.length,
    typeof m.method === 'string' ? 1 : 0,
    headers.length,
    query.length,
  ];
  return { conditions, rank, regex: op === 'regex' };
}

/** One gRPC match: the method as a path `/<service>/<method>`, ranked service, method, headers. */
function grpcMatch(raw: unknown): { conditions: Condition[]; rank: number[]; regex: boolean } {
  const m = asRecord(raw) ?? {};
  const method = asRecord(m.method);
  const service = str(method?.service);
  const name = str(method?.method);
  const conditions: Condition[] = [];
  const regex = method?.type === 'RegularExpression';
  if (regex)
    conditions.push({
      kind: 'path',
      op: 'regex',
      value: `/${service ?? '[^/]+'}/${name ?? '[^/]+'}`,
    });
  else if (service && name)
    conditions.push({ kind: 'path', op: 'exact', value: `/${service}/${name}` });
  else if (service) conditions.push({ kind: 'path', op: 'prefix', value: `/${service}/` });
  else if (name)
    conditions.push({
      kind: 'path',
      op: 'regex',
      value: `/[^/]+/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
    });
  const headers = valueConditions('header', m.headers);
  conditions.push(...headers);
  return { conditions, rank: [service?.length ?? 0, name?.length ?? 0, headers.length], regex };
}

export function gatewayRouteFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
  family: GatewayRouteFamily,
): FlowObject {
  const spec = asRecord(object.spec) ?? {};
  const self = `${typeof object.kind === 'string' ? object.kind : 'route'} ${namespace}/${object.metadata?.name ?? ''}`;
  const roots = parentRoots(spec, namespace, self);
  const rules = asArray(spec.rules) ?? [];
  const routes: PendingRoute[] = [];
  rules.forEach((item, i) => {
    const rule = asRecord(item);
    if (!rule) return;
    const path = `spec.rules[${i}]`;
    const name = str(rule.name);
    const matches = asArray(rule.matches) ?? [];
    const layered = family === 'http' || family === 'grpc';
    const read = (layered ? (matches.length === 0 ? [{}] : matches) : [{}]).map((m) =>
      family === 'grpc'
        ? grpcMatch(m)
        : family === 'http'
          ? httpMatch(m)
          : { conditions: [], rank: [], regex: false },
    );
    routes.push({
      key: name ?? `rules[${i}]`,
      label: name === undefined ? `rule ${i}` : `rule "${name}"`,
      path,
      protocol: family === 'http' ? 'http' : family,
      alternatives: read.map((r) => r.conditions),
      ranks: read.map((r) => r.rank),
      // Regex precedence is implementation-specific; several TCP/TLS/UDP rules are too.
      ambiguous: read.some((r) => r.regex) || (!layered && rules.length > 1),
      outcome: ruleOutcome(rule, path, splits, errors, namespace),
    });
  });
  return finish(
    roots,
    routes,
    family === 'http' || family === 'grpc' ? 'specificity' : 'first-match',
    errors,
  );
}

function ruleOutcome(
  rule: Record<string, unknown>,
  path: string,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): PendingOutcome {
  const error = errorWithin(errors, path);
  if (error) return unreadable(error);
  const refs = asArray(rule.backendRefs) ?? [];
  if (refs.length === 0) {
    const redirect = (asArray(rule.filters) ?? []).some(
      (f) => asRecord(f)?.type === 'RequestRedirect',
    );
    return redirect
      ? { kind: 'opaque', id: `?redirect:${path}`, reason: 'a redirect' }
      : { kind: 'shares', shares: new Map() };
  }
  const read = splitAt(splits, path);
  if (!read) return { kind: 'unreadable', reason: `${path}.backendRefs could not be read` };
  const backends: RawBackend[] = [];
  refs.forEach((item, j) => {
    const ref = asRecord(item) ?? {};
    const b = read.get(`${path}.backendRefs[${j}]`, j);
    if (!b) return;
    const group = typeof ref.group === 'string' ? (ref.group === 'core' ? '' : ref.group) : '';
    const kind = str(ref.kind) ?? 'Service';
    const ns = str(ref.namespace) ?? namespace;
    const name = String(ref.name);
    const base =
      kind === 'Service' && group === ''
        ? serviceHost(name, ns)
        : `${kind}${group === '' ? '' : `.${group}`} ${ns}/${name}`;
    // Assigned, not spread in: conditional spreads cost more than the rest of the backend.
    const backend: { -readonly [K in keyof RawBackend]: RawBackend[K] } = {
      base,
      weight: b.weight,
      name: b.name,
    };
    if (typeof ref.port === 'number') backend.port = ref.port;
    backends.push(backend);
  });
  return { kind: 'backends', backends };
}
