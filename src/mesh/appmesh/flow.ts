/**
 * The traffic of an App Mesh VirtualRouter: a root per listener; routes by priority (lowest
 * first). Routes without priority have no exactly known place, so any of them may come first.
 */
import type { KubeObject } from '../../k8s/objects.js';
import { asArray, asRecord } from '../../util/objects.js';
import type { LocatedError, WeightedSplit } from '../../traffic/model.js';
import { routeLabel } from '../../traffic/read-common.js';
import {
  errorWithin,
  finish,
  splitAt,
  unreadable,
  type PendingRoute,
  type RawBackend,
} from '../../traffic/flow/build.js';
import type { Condition, FlowObject, RootRef } from '../../traffic/flow/model.js';

const TYPES = {
  httpRoute: 'http',
  http2Route: 'http2',
  grpcRoute: 'grpc',
  tcpRoute: 'tcp',
} as const;

function headerConditions(list: unknown): Condition[] {
  return (asArray(list) ?? []).flatMap((item) => {
    const h = asRecord(item);
    if (!h || typeof h.name !== 'string') return [];
    const m = asRecord(h.match) ?? {};
    const op = (['exact', 'prefix', 'suffix', 'regex'] as const).find(
      (k) => typeof m[k] === 'string',
    );
    const value = op === undefined ? '' : String(m[op]);
    return [
      {
        kind: 'header',
        name: h.name,
        op: op ?? (Object.keys(m).length === 0 ? 'present' : 'other'),
        value,
        negated: h.invert === true,
      },
    ];
  });
}

function matchOf(type: keyof typeof TYPES, raw: unknown): Condition[] {
  const m = asRecord(raw) ?? {};
  const out: Condition[] = [];
  if (type === 'grpcRoute') {
    const service = typeof m.serviceName === 'string' ? m.serviceName : undefined;
    const method = typeof m.methodName === 'string' ? m.methodName : undefined;
    if (service && method) out.push({ kind: 'path', op: 'exact', value: `/${service}/${method}` });
    else if (service) out.push({ kind: 'path', op: 'prefix', value: `/${service}/` });
    out.push(...headerConditions(m.metadata));
    return out;
  }
  if (type === 'tcpRoute') return out;
  if (typeof m.prefix === 'string' && m.prefix !== '/')
    out.push({ kind: 'path', op: 'prefix', value: m.prefix });
  const p = asRecord(m.path);
  if (typeof p?.exact === 'string') out.push({ kind: 'path', op: 'exact', value: p.exact });
  else if (typeof p?.regex === 'string') out.push({ kind: 'path', op: 'regex', value: p.regex });
  if (typeof m.method === 'string') out.push({ kind: 'method', values: [m.method.toUpperCase()] });
  out.push(...headerConditions(m.headers));
  for (const item of asArray(m.queryParameters) ?? []) {
    const q = asRecord(item);
    if (!q || typeof q.name !== 'string') continue;
    const exact = asRecord(q.match)?.exact;
    out.push({
      kind: 'query',
      name: q.name,
      op: typeof exact === 'string' ? 'exact' : 'present',
      value: typeof exact === 'string' ? exact : '',
      negated: false,
    });
  }
  if (m.scheme !== undefined)
    out.push({ kind: 'opaque', key: `scheme:${JSON.stringify(m.scheme)}`, text: 'scheme' });
  return out;
}

export function appMeshFlow(
  object: KubeObject,
  splits: readonly WeightedSplit[],
  errors: readonly LocatedError[],
  namespace: string,
): FlowObject {
  const spec = asRecord(object.spec) ?? {};
  const self = `VirtualRouter ${namespace}/${object.metadata?.name ?? ''}`;
  const listeners = (asArray(spec.listeners) ?? []).map(
    (l) => asRecord(asRecord(l)?.portMapping) ?? {},
  );
  const roots: RootRef[] = listeners
    .filter((pm) => typeof pm.port === 'number')
    .map((pm) => ({
      key: `${self}:${String(pm.port)}`,
      label: `${self} port ${String(pm.port)}`,
      base: self,
      port: pm.port as number,
    }));
  if (roots.length === 0) roots.push({ key: self, label: self, base: self });
  const protocolOf = new Map(
    listeners.map((pm) => [
      `${self}:${String(pm.port)}`,
      typeof pm.protocol === 'string' ? pm.protocol : 'http',
    ]),
  );
  const pending: (PendingRoute & { priority: number | undefined; index: number })[] = [];
  (asArray(spec.routes) ?? []).forEach((item, i) => {
    const route = asRecord(item);
    if (!route) return;
    const type = (Object.keys(TYPES) as (keyof typeof TYPES)[]).find(
      (t) => asRecord(route[t]) !== undefined,
    );
    if (!type) return;
    const path = `spec.routes[${i}]`;
    const body = asRecord(route[type]) ?? {};
    const protocol = TYPES[type];
    const matchPort = asRecord(body.match)?.port;
    const served = roots
      .filter(
        (r) =>
          (protocolOf.get(r.key) ?? 'http') === protocol &&
          (typeof matchPort !== 'number' || r.port === matchPort),
      )
      .map((r) => r.key);
    const name = typeof route.name === 'string' && route.name !== '' ? route.name : undefined;
    const error = errorWithin(errors, path);
    const read = splitAt(splits, path);
    let outcome: PendingRoute['outcome'];
    if (error) outcome = unreadable(error);
    else if (!read)
      outcome = {
        kind: 'unreadable',
        reason: `${path}.${type}.action.weightedTargets could not be read`,
      };
    else {
      const backends: RawBackend[] = [];
      (asArray(asRecord(body.action)?.weightedTargets) ?? []).forEach((t, j) => {
        const target = asRecord(t) ?? {};
        const b = read.get(`${path}.${type}.action.weightedTargets[${j}]`, j);
        if (!b) return;
        const ref = asRecord(target.virtualNodeRef);
        const base =
          ref && typeof ref.name === 'string'
            ? `VirtualNode ${typeof ref.namespace === 'string' ? ref.namespace : namespace}/${ref.name}`
            : String(target.virtualNodeARN);
        backends.push({
          base,
          ...(typeof target.port === 'number' ? { port: target.port } : {}),
          weight: b.weight,
          name: b.name,
        });
      });
      outcome = { kind: 'backends', backends };
    }
    pending.push({
      key: name ?? `routes[${i}]`,
      label: routeLabel(i, name),
      path,
      roots: served,
      protocol,
      alternatives: [matchOf(type, body.match)],
      outcome,
      priority: typeof route.priority === 'number' ? route.priority : undefined,
      index: i,
    });
  });
  const unprioritized = pending.filter((r) => r.priority === undefined).length;
  pending.sort((a, b) => (a.priority ?? Infinity) - (b.priority ?? Infinity) || a.index - b.index);
  const routes: PendingRoute[] = pending.map(({ priority, index: _index, ...r }) => ({
    ...r,
    ambiguous: priority === undefined && pending.length > 1 && unprioritized > 0,
  }));
  const protocols = [...new Set(protocolOf.values())];
  return finish(roots, routes, 'first-match', errors, protocols);
}
