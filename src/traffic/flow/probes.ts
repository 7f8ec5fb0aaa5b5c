/**
 * The requests the judge sends through old and new objects: one per class of traffic either
 * object tells apart (paths, methods, ports, per protocol), and one per targeted match.
 */
import type { Condition, FlowObject, FlowRoute, Probe } from './model.js';

/** A path no route names: the requests every other path stands for. */
const OTHER_PATH = '/.meshwarden-unmatched';

/** Every probe the two objects call for: untargeted shapes first, then one per targeted match. */
export function probesFor(objects: readonly (FlowObject | undefined)[]): Probe[] {
  // Plain loops: flatMap and flat were a third of this function's time.
  const routes: FlowRoute[] = [];
  const protocols = new Set<string>();
  for (const o of objects) {
    if (!o) continue;
    for (const r of o.routes) {
      routes.push(r);
      protocols.add(r.protocol);
    }
    for (const p of o.protocols ?? []) protocols.add(p);
  }
  const conditions: Condition[] = [];
  for (const r of routes) for (const alt of r.alternatives) for (const c of alt) conditions.push(c);
  const paths = new Set<string>(['/', OTHER_PATH]);
  const regexes = new Set<string>();
  const methodSet = new Set<string>();
  const ports = new Set<number | undefined>([undefined]);
  for (const c of conditions) {
    if (c.kind === 'path') {
      if (c.op === 'regex') regexes.add(c.value);
      else {
        paths.add(c.value);
        if (c.op !== 'exact') {
          paths.add(c.value.endsWith('/') ? `${c.value}x` : `${c.value}/x`);
          paths.add(`${c.value}x`);
        }
      }
    } else if (c.kind === 'method') {
      for (const m of c.values) if (m !== '*') methodSet.add(m);
    } else if (c.kind === 'port') ports.add(c.port);
  }
  const methodList = [...methodSet];
  const other =
    ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].find((m) => !methodSet.has(m)) ?? 'MESHWARDEN';
  methodList.push(other);
  const out: Probe[] = [];
  const noValues = new Map<string, string>();
  for (const protocol of [...protocols].sort()) {
    const layered = protocol === 'http' || protocol === 'http2' || protocol === 'grpc';
    const pathList: (string | { regex: string })[] = layered
      ? [...paths, ...[...regexes].map((regex) => ({ regex }))]
      : ['/'];
    for (const port of ports)
      for (const path of pathList)
        for (const method of layered ? methodList : ['']) {
          const text = typeof path === 'string' ? path : `~${path.regex}`;
          out.push(
            withPort(
              {
                key: `${protocol}|${port ?? '*'}|${method}|${text}`,
                path,
                method,
                protocol,
                values: noValues,
                targeted: false,
                label: describeProbe(path, layered && methodSet.size > 0 ? method : '', port),
              },
              port,
            ),
          );
        }
  }
  // One probe per targeted match (once, however many routes or objects repeat it): only to see
  // whether opt-in traffic changed.
  const targeted = new Set<string>();
  for (const r of routes)
    for (const alt of r.alternatives) {
      if (!alt.some(optsIn)) continue;
      const values = new Map<string, string | { regex: string }>();
      let path: string | { regex: string } = '/';
      let method = 'GET';
      let port: number | undefined;
      for (const c of alt) {
        if (optsIn(c))
          values.set(
            `${c.kind}:${c.name.toLowerCase()}`,
            c.op === 'regex'
              ? { regex: c.value }
              : c.op === 'present' || c.op === 'other'
                ? 'x'
                : c.value,
          );
        else if (c.kind === 'path') path = c.op === 'regex' ? { regex: c.value } : c.value;
        else if (c.kind === 'method' && c.values[0] !== undefined) method = c.values[0];
        else if (c.kind === 'port') port = c.port;
      }
      // Quoted strings joined (unambiguous, and far cheaper than serializing the entries).
      let key = `${r.protocol}|targeted|`;
      for (const [name, v] of values) key += `${JSON.stringify(name)}=${matchText(v)},`;
      key += `|${matchText(path)}|${method}|${port ?? '*'}`;
      if (targeted.has(key)) continue;
      targeted.add(key);
      out.push(
        withPort(
          {
            key,
            path,
            method,
            protocol: r.protocol,
            values,
            targeted: true,
            label: `requests carrying ${[...values.keys()].join(', ')}`,
          },
          port,
        ),
      );
    }
  return out;
}

function matchText(value: string | { regex: string }): string {
  return typeof value === 'string' ? JSON.stringify(value) : `~${JSON.stringify(value.regex)}`;
}

/** A header, query parameter or cookie a request must carry: opt-in traffic. */
function optsIn(c: Condition): c is Extract<Condition, { kind: 'header' | 'query' | 'cookie' }> {
  return (c.kind === 'header' || c.kind === 'query' || c.kind === 'cookie') && !c.negated;
}

/** Assigned rather than spread in: a conditional spread per probe was much of this file's time. */
function withPort(probe: Omit<Probe, 'port'>, port: number | undefined): Probe {
  if (port !== undefined) (probe as { port?: number }).port = port;
  return probe;
}

function describeProbe(
  path: string | { regex: string },
  method: string,
  port: number | undefined,
): string {
  const what = method === '' ? 'requests' : `${method} requests`;
  let text: string;
  if (typeof path !== 'string') text = `${what} matching ${path.regex}`;
  else if (path === OTHER_PATH) text = `other ${what}`;
  else if (path !== '/') text = `${what} to ${path}`;
  else text = method === '' ? '' : what;
  return port === undefined ? text : `${text === '' ? 'requests' : text} on port ${port}`;
}
