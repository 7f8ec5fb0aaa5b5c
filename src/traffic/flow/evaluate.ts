/**
 * Which route of an object serves a request. Requests are probes built from every condition the
 * old and the new object mention, so each class of traffic either object tells apart has one.
 * A condition meshwarden cannot evaluate for a probe is an unknown "atom"; the same atom has the
 * same value in the old and the new object, and every assignment of them is tried, so the judge
 * can take the reading least favourable to an edit without losing what stayed the same.
 */
import type { FlowMemo, RouteEntry as Entry } from './memo.js';
import type { Condition, FlowObject, FlowRoute, Probe, RootRef } from './model.js';

/** More unknowns than this for one probe: old and new are read separately (still least favourable). */
const MAX_ATOMS = 8;
const OTHER_PATH = '/.meshwarden-unmatched';

type Tri = true | false | { readonly atom: string };

function canon(c: Condition, memo: FlowMemo | undefined): string {
  let text = memo?.canon.get(c);
  if (text === undefined) {
    text = JSON.stringify(c);
    memo?.canon.set(c, text);
  }
  return text;
}

function fullMatch(regex: string, text: string, ignoreCase = false): boolean | undefined {
  try {
    return new RegExp(`^(?:${regex})$`, ignoreCase ? 'i' : '').test(text);
  } catch {
    return undefined;
  }
}

function valueMatches(op: string, want: string, got: string): boolean | undefined {
  switch (op) {
    case 'exact':
      return got === want;
    case 'prefix':
      return got.startsWith(want);
    case 'suffix':
      return got.endsWith(want);
    case 'present':
      return true;
    case 'regex':
      return fullMatch(want, got);
    default:
      return undefined;
  }
}

function pathMatches(c: Extract<Condition, { kind: 'path' }>, path: string): boolean | undefined {
  const p = c.ignoreCase ? path.toLowerCase() : path;
  const v = c.ignoreCase ? c.value.toLowerCase() : c.value;
  switch (c.op) {
    case 'exact':
      return p === v;
    case 'prefix':
      return p.startsWith(v);
    case 'segment': {
      const base = v.length > 1 ? v.replace(/\/+$/, '') : v;
      return base === '/' || p === base || p.startsWith(`${base}/`);
    }
    case 'regex':
      return fullMatch(c.value, path, c.ignoreCase);
  }
}

/** One condition against one probe, for one root. */
export function evaluateCondition(c: Condition, probe: Probe, root: RootRef, memo?: FlowMemo): Tri {
  switch (c.kind) {
    case 'path': {
      if (typeof probe.path !== 'string') {
        return c.op === 'regex' && c.value === probe.path.regex ? true : unknown(c, probe, memo);
      }
      return pathMatches(c, probe.path) ?? unknown(c, probe, memo);
    }
    case 'method':
      return c.values.length === 0 || c.values.includes('*') || c.values.includes(probe.method);
    case 'port':
      return probe.port === c.port;
    case 'gateway':
      return c.values.includes(root.gateway ?? 'mesh');
    case 'opaque':
      return { atom: `${probe.key}~opaque:${c.key}` };
    case 'header':
    case 'query':
    case 'cookie': {
      const got = probe.values.get(`${c.kind}:${c.name.toLowerCase()}`);
      let hit: boolean | undefined;
      if (got === undefined) hit = false;
      else if (typeof got === 'string') hit = valueMatches(c.op, c.value, got);
      else
        hit = c.op === 'present' || (c.op === 'regex' && c.value === got.regex) ? true : undefined;
      if (hit === undefined) return unknown(c, probe, memo);
      return c.negated ? !hit : hit;
    }
  }
}

function unknown(c: Condition, probe: Probe, memo: FlowMemo | undefined): Tri {
  return { atom: `${probe.key}~${canon(c, memo)}` };
}

function evaluateAll(
  conditions: readonly Condition[],
  probe: Probe,
  root: RootRef,
  resolve: (atom: string) => boolean,
  memo: FlowMemo | undefined,
): boolean {
  for (const c of conditions) {
    const r = evaluateCondition(c, probe, root, memo);
    const v = typeof r === 'boolean' ? r : resolve(r.atom);
    if (!v) return false;
  }
  return true;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (b[i] ?? 0) - (a[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function entries(
  object: FlowObject,
  root: RootRef,
  probe: Probe,
  memo: FlowMemo | undefined,
): readonly Entry[] {
  if (memo === undefined) return listEntries(object, root, probe);
  // A root object belongs to one flow object, so it keys that object's lists.
  let lists = memo.entries.get(root);
  if (lists === undefined) {
    lists = new Map();
    memo.entries.set(root, lists);
  }
  let list = lists.get(probe.protocol);
  if (list === undefined) {
    list = listEntries(object, root, probe);
    lists.set(probe.protocol, list);
  }
  return list;
}

function listEntries(object: FlowObject, root: RootRef, probe: Probe): Entry[] {
  const out: Entry[] = [];
  object.routes.forEach((route, order) => {
    if (route.protocol !== probe.protocol) return;
    if (route.roots !== undefined && !route.roots.includes(root.key)) return;
    route.alternatives.forEach((alt, i) =>
      out.push({ route, alt, rank: route.ranks?.[i] ?? [], order }),
    );
  });
  if (object.precedence === 'specificity')
    out.sort((a, b) => compareRank(a.rank, b.rank) || a.order - b.order);
  return out;
}

/** The route serving `probe` for `root` under one assignment of the unknowns; undefined: none. */
export function serve(
  object: FlowObject,
  root: RootRef,
  probe: Probe,
  resolve: (atom: string) => boolean,
  memo?: FlowMemo,
): FlowRoute | undefined {
  const list = entries(object, root, probe, memo);
  // A route whose place is not exactly known may come first: one more unknown.
  for (const e of list) {
    if (
      e.route.ambiguous &&
      evaluateAll(e.alt, probe, root, resolve, memo) &&
      resolve(`${probe.key}~prefer:${e.route.key}`)
    )
      return e.route;
  }
  for (const e of list) if (evaluateAll(e.alt, probe, root, resolve, memo)) return e.route;
  return undefined;
}

/**
 * Collects every unknown of `object` for `probe` into `into`, and returns the route that serves
 * the probe when the object itself has none (the first entry whose conditions all hold): one
 * walk where the common case, no unknowns on either side, needs no second.
 */
function atomsOf(
  object: FlowObject | undefined,
  root: RootRef | undefined,
  probe: Probe,
  into: Set<string>,
  memo: FlowMemo | undefined,
): FlowRoute | undefined {
  if (!object || !root) return undefined;
  let served: FlowRoute | undefined;
  for (const e of entries(object, root, probe, memo)) {
    if (e.route.ambiguous) into.add(`${probe.key}~prefer:${e.route.key}`);
    let holds = true;
    for (const c of e.alt) {
      const r = evaluateCondition(c, probe, root, memo);
      if (typeof r !== 'boolean') {
        into.add(r.atom);
        holds = false;
      } else if (!r) holds = false;
    }
    if (holds && served === undefined) served = e.route;
  }
  return served;
}

/** What serves one probe in the old and the new object, under one reading of the unknowns. */
export interface Scenario {
  readonly before: FlowRoute | undefined;
  readonly after: FlowRoute | undefined;
  /** Some condition could not be evaluated: the reading is one of several possible. */
  readonly uncertain: boolean;
}

/**
 * Every reading of the unknowns for one probe: old and new are evaluated together, so an
 * unknown condition both objects share keeps one value. `before` undefined with `oldRoot`
 * undefined means the root is new to the object.
 */
export function scenarios(
  oldObject: FlowObject | undefined,
  oldRoot: RootRef | undefined,
  newObject: FlowObject | undefined,
  newRoot: RootRef | undefined,
  probe: Probe,
  memo?: FlowMemo,
): Scenario[] {
  const atoms = new Set<string>();
  const before = atomsOf(oldObject, oldRoot, probe, atoms, memo);
  const after = atomsOf(newObject, newRoot, probe, atoms, memo);
  // No unknowns: each side is served by its first entry that holds, found on the way.
  if (atoms.size === 0) return [{ before, after, uncertain: false }];
  const list = [...atoms];
  const run = (
    o: FlowObject | undefined,
    r: RootRef | undefined,
    resolve: (a: string) => boolean,
  ) => (o && r ? serve(o, r, probe, resolve, memo) : undefined);
  const out: Scenario[] = [];
  const seen = new Set<string>();
  const push = (s: Scenario) => {
    const key = `${s.before?.path ?? '-'}|${s.after?.path ?? '-'}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(s);
    }
  };
  if (list.length <= MAX_ATOMS) {
    for (let mask = 0; mask < 1 << list.length; mask++) {
      const values = new Map(list.map((a, i) => [a, (mask & (1 << i)) !== 0]));
      const resolve = (a: string) => values.get(a) ?? false;
      push({
        before: run(oldObject, oldRoot, resolve),
        after: run(newObject, newRoot, resolve),
        uncertain: true,
      });
    }
    return out;
  }
  // Too many unknowns to try together: every route either side might serve, paired freely.
  const possible = (
    o: FlowObject | undefined,
    r: RootRef | undefined,
  ): (FlowRoute | undefined)[] => {
    if (!o || !r) return [undefined];
    const found: (FlowRoute | undefined)[] = [];
    let definite = false;
    for (const e of entries(o, r, probe, memo)) {
      const values = e.alt.map((c) => evaluateCondition(c, probe, r, memo));
      if (values.some((v) => v === false)) continue;
      found.push(e.route);
      if (values.every((v) => v === true) && !e.route.ambiguous) {
        definite = true;
        break;
      }
    }
    if (!definite) found.push(undefined);
    return found;
  };
  for (const before of possible(oldObject, oldRoot))
    for (const after of possible(newObject, newRoot)) push({ before, after, uncertain: true });
  return out;
}

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
          out.push({
            key: `${protocol}|${port ?? '*'}|${method}|${text}`,
            path,
            method,
            ...(port === undefined ? {} : { port }),
            protocol,
            values: noValues,
            targeted: false,
            label: describeProbe(path, layered && methodSet.size > 0 ? method : '', port),
          });
        }
  }
  // One probe per targeted match: only to see whether opt-in traffic changed.
  for (const r of routes)
    r.alternatives.forEach((alt) => {
      const values = new Map<string, string | { regex: string }>();
      let path: string | { regex: string } = '/';
      let method = 'GET';
      let port: number | undefined;
      for (const c of alt) {
        if ((c.kind === 'header' || c.kind === 'query' || c.kind === 'cookie') && !c.negated)
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
      if (values.size === 0) return;
      out.push({
        key: `${r.protocol}|targeted|${JSON.stringify([...values])}|${JSON.stringify(path)}|${method}|${port ?? '*'}`,
        path,
        method,
        ...(port === undefined ? {} : { port }),
        protocol: r.protocol,
        values,
        targeted: true,
        label: `requests carrying ${[...values.keys()].join(', ')}`,
      });
    });
  return out;
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
