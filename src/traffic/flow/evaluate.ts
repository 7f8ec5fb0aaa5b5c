/**
 * Which route of an object serves a request. Requests are probes built from every condition the
 * old and the new object mention, so each class of traffic either object tells apart has one.
 * A condition meshwarden cannot evaluate for a probe is an unknown "atom"; the same atom has the
 * same value in the old and the new object, and every assignment of them is tried, so the judge
 * can take the reading least favourable to an edit without losing what stayed the same.
 */
import type { FlowMemo, RouteEntry as Entry, RouteList, Walk } from './memo.js';
import type { Condition, FlowObject, FlowRoute, Probe, RootRef } from './model.js';

/** More unknowns than this for one probe: old and new are read separately (still least favourable). */
const MAX_ATOMS = 8;

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
      // Untargeted probes carry no values: no look-up key is built for them.
      const got =
        probe.values.size === 0 ? undefined : probe.values.get(`${c.kind}:${c.name.toLowerCase()}`);
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
  protocol: string,
  memo: FlowMemo | undefined,
): readonly Entry[] {
  return memo === undefined
    ? listEntries(object, root, protocol)
    : routeList(object, root, protocol, memo).entries;
}

/** A root's entries for a protocol, once per review; most roots have one protocol. */
function routeList(object: FlowObject, root: RootRef, protocol: string, memo: FlowMemo): RouteList {
  // A root object belongs to one flow object, so it keys that object's lists.
  const lists = memo.entries.get(root);
  if (lists === undefined) {
    const list: RouteList = { entries: listEntries(object, root, protocol) };
    memo.entries.set(root, { protocol, list });
    return list;
  }
  if (lists.protocol === protocol) return lists.list;
  let list = lists.others?.get(protocol);
  if (list === undefined) {
    list = { entries: listEntries(object, root, protocol) };
    (lists.others ??= new Map()).set(protocol, list);
  }
  return list;
}

function listEntries(object: FlowObject, root: RootRef, protocol: string): Entry[] {
  const out: Entry[] = [];
  object.routes.forEach((route, order) => {
    if (route.protocol !== protocol) return;
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
  const list = entries(object, root, probe.protocol, memo);
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
 * The unknowns of `object` for `probe`, in the order met, and the route that serves the probe
 * when there are none (its first entry whose conditions all hold). A pure function of the root
 * and the probe, so the memo keeps it: the stable-backend questions and the judge ask the same
 * probes of the same objects.
 */
function walk(object: FlowObject, root: RootRef, probe: Probe, memo: FlowMemo | undefined): Walk {
  let known = memo?.walks.get(root);
  const hit = known?.get(probe.key);
  if (hit !== undefined) return hit;
  let atoms: Set<string> | undefined;
  let served: FlowRoute | undefined;
  for (const e of entries(object, root, probe.protocol, memo)) {
    if (e.route.ambiguous) (atoms ??= new Set()).add(`${probe.key}~prefer:${e.route.key}`);
    let holds = true;
    for (const c of e.alt) {
      const r = evaluateCondition(c, probe, root, memo);
      if (typeof r !== 'boolean') {
        (atoms ??= new Set()).add(r.atom);
        holds = false;
      } else if (!r) holds = false;
    }
    if (holds && served === undefined) served = e.route;
  }
  const result: Walk = { atoms: atoms === undefined ? NO_ATOMS : [...atoms], served };
  if (memo !== undefined) {
    if (known === undefined) memo.walks.set(root, (known = new Map<string, Walk>()));
    known.set(probe.key, result);
  }
  return result;
}

const NO_ATOMS: readonly string[] = [];
const NOTHING_SERVED: Walk = { atoms: NO_ATOMS, served: undefined };

/**
 * Whether every untargeted request of `root` in `protocol` takes one route, whatever its path,
 * method or port: each route before that one needs an opt-in header, query parameter or cookie
 * (or another gateway), and that one matches everything. No condition may be an unknown for such
 * a request (opaque conditions, regular-expression paths) and no route's place be ambiguous.
 * Then every untargeted probe of the protocol gets the same reading, and the judge asks only the
 * first (see `judge.ts`). The common case: a canary header route above a weighted catch-all.
 */
export function servesUniformly(
  object: FlowObject,
  root: RootRef,
  protocol: string,
  memo: FlowMemo,
): boolean {
  const list = routeList(object, root, protocol, memo);
  return (list.uniform ??= uniformList(list.entries, root));
}

function uniformList(list: readonly Entry[], root: RootRef): boolean {
  let served = false;
  for (const e of list) {
    if (e.route.ambiguous) return false;
    let never = false;
    let always = true;
    for (const c of e.alt) {
      const reading = untargetedReading(c, root);
      if (reading === 'unknown') return false;
      if (reading === 'never') never = true;
      else if (reading === 'depends') always = false;
    }
    // Routes after the one that serves are still walked (for their unknowns), so all are checked.
    if (served || never) continue;
    if (!always) return false;
    served = true;
  }
  return true;
}

/** What a condition is for every request that carries no header, query parameter or cookie. */
function untargetedReading(
  c: Condition,
  root: RootRef,
): 'always' | 'never' | 'depends' | 'unknown' {
  switch (c.kind) {
    case 'opaque':
      return 'unknown';
    case 'path':
      if (c.op === 'regex') return 'unknown';
      return c.op === 'segment' && c.value === '/' ? 'always' : 'depends';
    case 'method':
      return c.values.length === 0 || c.values.includes('*') ? 'always' : 'depends';
    case 'port':
      return 'depends';
    case 'gateway':
      return c.values.includes(root.gateway ?? 'mesh') ? 'always' : 'never';
    case 'header':
    case 'query':
    case 'cookie':
      return c.negated ? 'always' : 'never';
  }
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
  const old = oldObject && oldRoot ? walk(oldObject, oldRoot, probe, memo) : NOTHING_SERVED;
  const next = newObject && newRoot ? walk(newObject, newRoot, probe, memo) : NOTHING_SERVED;
  // No unknowns: each side is served by its first entry that holds, found on the way.
  if (old.atoms.length === 0 && next.atoms.length === 0)
    return [{ before: old.served, after: next.served, uncertain: false }];
  const list = [...new Set([...old.atoms, ...next.atoms])];
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
    for (const e of entries(o, r, probe.protocol, memo)) {
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
