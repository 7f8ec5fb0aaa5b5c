/**
 * The traffic of a Gloo Edge VirtualService (roots: its domains) or RouteTable (root: the table,
 * reached through delegation). The first route whose matcher matches wins.
 */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord, asStringMap } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../../traffic/model.js';
import { routeLabel } from '../../traffic/read-common.js';
import {
  errorWithin,
  finish,
  methods,
  serviceHost,
  splitAt,
  unreadable,
  type PendingOutcome,
  type PendingRoute,
  type RawBackend,
} from '../../traffic/flow/build.js';
import type { Condition, FlowObject, RootRef } from '../../traffic/flow/model.js';

function matcher(raw: unknown): Condition[] {
  const m = asRecord(raw) ?? {};
  const ignoreCase = m.caseSensitive === false ? { ignoreCase: true } : {};
  const out: Condition[] = [];
  if (typeof m.exact === 'string')
    out.push({ kind: 'path', op: 'exact', value: m.exact, ...ignoreCase });
  else if (typeof m.regex === 'string')
    out.push({ kind: 'path', op: 'regex', value: m.regex, ...ignoreCase });
  else if (typeof m.prefix === 'string' && m.prefix !== '/')
    out.push({ kind: 'path', op: 'prefix', value: m.prefix, ...ignoreCase });
  for (const [kind, list] of [
    ['header', m.headers],
    ['query', m.queryParameters],
  ] as const) {
    for (const item of asArray(list) ?? []) {
      const h = asRecord(item);
      if (!h || typeof h.name !== 'string') continue;
      const value = typeof h.value === 'string' ? h.value : '';
      out.push({
        kind,
        name: h.name,
        op: value === '' ? 'present' : h.regex === true ? 'regex' : 'exact',
        value,
        negated: h.invertMatch === true,
      });
    }
  }
  const verbs = methods(m.methods);
  if (verbs.length > 0) out.push({ kind: 'method', values: verbs });
  return out;
}

function subsetText(raw: unknown): string | undefined {
  const values = asStringMap(asRecord(raw)?.values);
  const text = Object.keys(values)
    .sort()
    .map((k) => `${k}=${values[k] ?? ''}`)
    .join(',');
  return text === '' ? undefined : text;
}

function destination(
  raw: unknown,
  namespace: string,
): { base: string; subset?: string; port?: number } | undefined {
  const dest = asRecord(raw);
  const subset = subsetText(dest?.subset);
  const withSubset = subset === undefined ? {} : { subset };
  const upstream = asRecord(dest?.upstream);
  if (upstream && typeof upstream.name === 'string')
    return {
      base: `upstream ${typeof upstream.namespace === 'string' ? upstream.namespace : namespace}/${upstream.name}`,
      ...withSubset,
    };
  const kube = asRecord(dest?.kube);
  const ref = asRecord(kube?.ref);
  if (ref && typeof ref.name === 'string')
    return {
      base: serviceHost(ref.name, typeof ref.namespace === 'string' ? ref.namespace : namespace),
      ...withSubset,
      ...(typeof kube?.port === 'number' ? { port: kube.port } : {}),
    };
  const consul = asRecord(dest?.consul);
  if (consul && typeof consul.serviceName === 'string')
    return { base: `consul ${consul.serviceName}`, ...withSubset };
  return undefined;
}

function refText(raw: unknown, namespace: string): string {
  const r = asRecord(raw) ?? {};
  const ref = asRecord(r.ref) ?? r;
  if (typeof ref.name === 'string')
    return `${typeof ref.namespace === 'string' ? ref.namespace : namespace}/${ref.name}`;
  return JSON.stringify(raw ?? null);
}

export function glooFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const spec = asRecord(object.spec) ?? {};
  const table = object.kind === 'RouteTable';
  const base = table ? 'spec.routes' : 'spec.virtualHost.routes';
  const roots: RootRef[] = [];
  if (table) {
    const self = `RouteTable ${namespace}/${object.metadata?.name ?? ''}`;
    roots.push({ key: self, label: self, base: self });
  } else {
    const domains = (asArray(asRecord(spec.virtualHost)?.domains) ?? []).filter(
      (d): d is string => typeof d === 'string',
    );
    for (const d of domains.length > 0 ? domains : ['*'])
      roots.push({
        key: `domain ${d.toLowerCase()}`,
        label: `domain ${d.toLowerCase()}`,
        base: 'gloo domains',
        host: d.toLowerCase(),
      });
  }
  const list = asArray(table ? spec.routes : asRecord(spec.virtualHost)?.routes) ?? [];
  const routes: PendingRoute[] = [];
  list.forEach((item, i) => {
    const route = asRecord(item);
    if (!route) return;
    const path = `${base}[${i}]`;
    const name = typeof route.name === 'string' && route.name !== '' ? route.name : undefined;
    const matchers = asArray(route.matchers) ?? [];
    const outcome = glooOutcome(route, path, splits, errors, namespace);
    if (!outcome) return;
    routes.push({
      key: name ?? `routes[${i}]`,
      label: routeLabel(i, name),
      path,
      protocol: 'http',
      alternatives: matchers.length === 0 ? [[]] : matchers.map(matcher),
      outcome,
    });
  });
  return finish(roots, routes, 'first-match', errors);
}

function glooOutcome(
  route: Record<string, unknown>,
  path: string,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): PendingOutcome | undefined {
  if (route.delegateAction !== undefined) {
    const ref = refText(route.delegateAction, namespace);
    return {
      kind: 'opaque',
      id: `?delegate:${ref}`,
      reason: `the routes delegated to ${ref} (their weights are not read here)`,
    };
  }
  if (route.redirectAction !== undefined)
    return {
      kind: 'opaque',
      id: `?redirect:${JSON.stringify(route.redirectAction)}`,
      reason: 'a redirect',
    };
  if (route.directResponseAction !== undefined) return { kind: 'shares', shares: new Map() };
  const action = asRecord(route.routeAction);
  if (!action) return undefined;
  if (action.upstreamGroup !== undefined) {
    const ref = refText(action.upstreamGroup, namespace);
    return {
      kind: 'opaque',
      id: `?upstreamgroup:${ref}`,
      reason: `UpstreamGroup ${ref} (its weights live in that object and are not read here)`,
    };
  }
  const error = errorWithin(errors, path);
  if (error) return unreadable(error);
  const read = splitAt(splits, path);
  if (!read) return { kind: 'unreadable', reason: `${path}.routeAction could not be read` };
  const backends: RawBackend[] = [];
  if (action.single !== undefined) {
    const at = `${path}.routeAction.single`;
    const b = read.get(at, 0);
    const d = destination(action.single, namespace);
    if (b && d) backends.push({ ...d, weight: b.weight, name: b.name });
  } else {
    (asArray(asRecord(action.multi)?.destinations) ?? []).forEach((item, j) => {
      const at = `${path}.routeAction.multi.destinations[${j}]`;
      const b = read.get(at, j);
      const d = destination(asRecord(item)?.destination, namespace);
      if (b && d) backends.push({ ...d, weight: b.weight, name: b.name });
    });
  }
  return { kind: 'backends', backends };
}
