/**
 * The requests the judge sends through old and new objects: one per class of traffic either
 * object tells apart (paths, methods, ports, per protocol), and one per targeted match.
 */
import { servesUniformly } from './evaluate.js';
import type { FlowMemo, ProbeParts } from './memo.js';
import type { Condition, FlowObject, Probe, RootRef } from './model.js';
import { sameConditions } from './same-conditions.js';

/** A path no route names: the requests every other path stands for. */
const OTHER_PATH = '/.meshwarden-unmatched';

/** Every probe the objects call for: untargeted shapes first, then one per targeted match. */
export function probesFor(objects: readonly (FlowObject | undefined)[]): Probe[] {
  let parts: ProbeParts | undefined;
  for (const o of objects) if (o) parts = parts ? mergeParts(parts, partsOf(o)) : partsOf(o);
  return parts ? buildProbes(parts) : [];
}

/**
 * The probes of one object, and of an old and a new one, kept in the memo: an edit that changes
 * weights only calls for the same probes in both objects, and then all three lists are one (the
 * same probe objects, so what is kept per probe is found again).
 */
export function objectProbes(object: FlowObject, memo: FlowMemo | undefined): readonly Probe[] {
  if (memo === undefined) return buildProbes(partsOf(object));
  const known = memo.probes.get(object);
  if (known !== undefined) return known.probes;
  const parts = partsFor(object, memo);
  const probes = sharedList(parts, memo) ?? buildProbes(parts);
  memo.probes.set(object, { parts, probes });
  return probes;
}

export function pairProbes(
  before: FlowObject | undefined,
  after: FlowObject,
  memo: FlowMemo | undefined,
): readonly Probe[] {
  if (memo === undefined) return probesFor([before, after]);
  if (!before) return objectProbes(after, memo);
  objectProbes(before, memo);
  objectProbes(after, memo);
  const a = memo.probes.get(before)!;
  const b = memo.probes.get(after)!;
  if (a.probes === b.probes) return a.probes;
  return buildProbes(mergeParts(a.parts, b.parts));
}

/** A list already built from the same parts, in the same order. */
function sharedList(parts: ProbeParts, memo: FlowMemo): readonly Probe[] | undefined {
  for (const known of memo.probes.values()) if (sameParts(known.parts, parts)) return known.probes;
  return undefined;
}

/**
 * An object's probe parts, once per review: its probes and `uniformProbes` both need them. Parts
 * equal to another object's are that object's (an edit of weights only), so what is kept per parts
 * is found again for both.
 */
function partsFor(object: FlowObject, memo: FlowMemo): ProbeParts {
  let parts = memo.parts.get(object);
  if (parts === undefined) {
    // Parts follow from the routes' conditions alone: an object whose conditions equal a known
    // one's (an edit of weights only) has its parts without building them.
    for (const [other, known] of memo.parts)
      if (sameConditions(other, object)) {
        memo.parts.set(object, known);
        return known;
      }
    parts = partsOf(object);
    for (const known of memo.parts.values())
      if (sameParts(known, parts)) {
        parts = known;
        break;
      }
    memo.parts.set(object, parts);
  }
  return parts;
}

/**
 * Parts no route of an object adds to, shared: most objects name no path, method or port, and
 * each set an object built for itself cost about 200 bytes (route updates allocated tens of KB
 * per review). Read-only; `partsOf` copies one before it adds.
 */
const BASE_PATHS: ReadonlySet<string> = new Set(['/', OTHER_PATH]);
const NO_STRINGS: ReadonlySet<string> = new Set();
const ANY_PORT: ReadonlySet<number | undefined> = new Set([undefined]);
const NO_TARGETED: ReadonlyMap<string, Probe> = new Map();
/** One set per protocol family, for objects of one protocol (the families are a few fixed names). */
const ONE_PROTOCOL = new Map<string, ReadonlySet<string>>();
const MAX_ONE_PROTOCOL = 64;

function oneProtocol(protocol: string): ReadonlySet<string> {
  let set = ONE_PROTOCOL.get(protocol);
  if (set === undefined) {
    set = new Set([protocol]);
    if (ONE_PROTOCOL.size < MAX_ONE_PROTOCOL) ONE_PROTOCOL.set(protocol, set);
  }
  return set;
}

function partsOf(object: FlowObject): ProbeParts {
  // Each set stays the shared one until something is added that it lacks.
  let firstProtocol: string | undefined;
  let protocols: Set<string> | undefined;
  let paths: Set<string> | undefined;
  let regexes: Set<string> | undefined;
  let methods: Set<string> | undefined;
  let ports: Set<number | undefined> | undefined;
  let targeted: Map<string, Probe> | undefined;
  const addProtocol = (p: string) => {
    if (protocols !== undefined) protocols.add(p);
    else if (firstProtocol === undefined) firstProtocol = p;
    else if (p !== firstProtocol) protocols = new Set([firstProtocol, p]);
  };
  const addPath = (path: string) => {
    if (paths === undefined && !BASE_PATHS.has(path)) paths = new Set(BASE_PATHS);
    paths?.add(path);
  };
  for (const r of object.routes) {
    addProtocol(r.protocol);
    for (const alt of r.alternatives) {
      for (const c of alt) {
        if (c.kind === 'path') {
          if (c.op === 'regex') (regexes ??= new Set()).add(c.value);
          else {
            addPath(c.value);
            if (c.op !== 'exact') {
              addPath(c.value.endsWith('/') ? `${c.value}x` : `${c.value}/x`);
              addPath(`${c.value}x`);
            }
          }
        } else if (c.kind === 'method') {
          for (const m of c.values) if (m !== '*') (methods ??= new Set()).add(m);
        } else if (c.kind === 'port') (ports ??= new Set(ANY_PORT)).add(c.port);
      }
      if (alt.some(optsIn)) {
        const probe = targetedProbe(r.protocol, alt);
        if (!targeted?.has(probe.key)) (targeted ??= new Map()).set(probe.key, probe);
      }
    }
  }
  for (const p of object.protocols ?? []) addProtocol(p);
  return {
    protocols: protocols ?? (firstProtocol === undefined ? NO_STRINGS : oneProtocol(firstProtocol)),
    paths: paths ?? BASE_PATHS,
    regexes: regexes ?? NO_STRINGS,
    methods: methods ?? NO_STRINGS,
    ports: ports ?? ANY_PORT,
    targeted: targeted ?? NO_TARGETED,
  };
}

/** `a`'s parts then what `b` adds, in `b`'s order: the order one pass over both would meet them. */
function mergeParts(a: ProbeParts, b: ProbeParts): ProbeParts {
  return {
    protocols: union(a.protocols, b.protocols),
    paths: union(a.paths, b.paths),
    regexes: union(a.regexes, b.regexes),
    methods: union(a.methods, b.methods),
    ports: union(a.ports, b.ports),
    targeted: a.targeted === b.targeted ? a.targeted : mergeTargeted(a.targeted, b.targeted),
  };
}

/** A shared set is kept as it is when both sides have it. */
function union<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): ReadonlySet<T> {
  return a === b ? a : new Set([...a, ...b]);
}

function mergeTargeted(
  a: ReadonlyMap<string, Probe>,
  b: ReadonlyMap<string, Probe>,
): Map<string, Probe> {
  const out = new Map(a);
  for (const [key, probe] of b) if (!out.has(key)) out.set(key, probe);
  return out;
}

function sameParts(a: ProbeParts, b: ProbeParts): boolean {
  return (
    sameOrder(a.protocols, b.protocols) &&
    sameOrder(a.paths, b.paths) &&
    sameOrder(a.regexes, b.regexes) &&
    sameOrder(a.methods, b.methods) &&
    sameOrder(a.ports, b.ports) &&
    (a.targeted === b.targeted ||
      sameOrder(a.targeted.keys(), b.targeted.keys(), a.targeted.size, b.targeted.size))
  );
}

function sameOrder<T>(
  a: Iterable<T>,
  b: Iterable<T>,
  sizeA = (a as ReadonlySet<T>).size,
  sizeB = (b as ReadonlySet<T>).size,
): boolean {
  if (a === b) return true;
  if (sizeA !== sizeB) return false;
  const other = b[Symbol.iterator]();
  for (const x of a) if (other.next().value !== x) return false;
  return true;
}

function buildProbes(parts: ProbeParts): Probe[] {
  const methodList = [...parts.methods, otherMethod(parts.methods)];
  const out: Probe[] = [];
  for (const protocol of [...parts.protocols].sort()) {
    const layered = isLayered(protocol);
    const pathList: (string | { regex: string })[] = layered
      ? [...parts.paths, ...[...parts.regexes].map((regex) => ({ regex }))]
      : ['/'];
    for (const port of parts.ports)
      for (const path of pathList)
        for (const method of layered ? methodList : [''])
          out.push(
            untargetedProbe(protocol, port, path, method, layered && parts.methods.size > 0),
          );
  }
  // Targeted probes only show whether opt-in traffic changed.
  for (const probe of parts.targeted.values()) out.push(probe);
  return out;
}

/** A method no route names: the requests every other method stands for. */
function otherMethod(methods: ReadonlySet<string>): string {
  return ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].find((m) => !methods.has(m)) ?? 'MESHWARDEN';
}

function isLayered(protocol: string): boolean {
  return protocol === 'http' || protocol === 'http2' || protocol === 'grpc';
}

const NO_VALUES: ReadonlyMap<string, string> = new Map();

function untargetedProbe(
  protocol: string,
  port: number | undefined,
  path: string | { regex: string },
  method: string,
  /** Some route names a method, so messages name it too. */
  namesMethod: boolean,
): Probe {
  const text = typeof path === 'string' ? path : `~${path.regex}`;
  return withPort(
    {
      key: `${protocol}|${port ?? '*'}|${method}|${text}`,
      path,
      method,
      protocol,
      values: NO_VALUES,
      targeted: false,
      label: describeProbe(path, namesMethod ? method : '', port),
    },
    port,
  );
}

/**
 * The probes of `objects` when each of `sides` (an object and one of its roots) sends all its
 * untargeted requests of a protocol to one route (`servesUniformly`): the first untargeted probe
 * of each protocol, exactly as the whole list has it, then every targeted probe. The rest of the
 * whole list would get the same readings as that first one, and the judgement keeps the first of
 * equal movements, so it comes out the same, without building or walking them. Undefined: some
 * side does not, or a regular-expression path calls for probes of its own (which make unknowns of
 * the other path conditions).
 */
export function uniformProbes(
  objects: readonly (FlowObject | undefined)[],
  sides: readonly (readonly [FlowObject, RootRef])[],
  memo: FlowMemo,
): readonly Probe[] | undefined {
  let parts: ProbeParts | undefined;
  for (const o of objects) {
    if (!o) continue;
    const own = partsFor(o, memo);
    if (own.regexes.size > 0) return undefined;
    parts = parts === undefined || sameParts(parts, own) ? (parts ?? own) : mergeParts(parts, own);
  }
  if (!parts) return [];
  const protocols = [...parts.protocols].sort();
  for (const protocol of protocols)
    for (const [object, root] of sides)
      if (!servesUniformly(object, root, protocol, memo)) return undefined;
  // The list depends on the parts alone: the stable-backend search of each object and the pair's
  // judgement ask for the same one.
  const known = memo.uniform.get(parts);
  if (known !== undefined) return known;
  const first = parts.methods.values().next();
  const method = first.done === true ? otherMethod(parts.methods) : first.value;
  const out: Probe[] = protocols.map((protocol) =>
    isLayered(protocol)
      ? untargetedProbe(protocol, undefined, '/', method, parts.methods.size > 0)
      : untargetedProbe(protocol, undefined, '/', '', false),
  );
  for (const probe of parts.targeted.values()) out.push(probe);
  memo.uniform.set(parts, out);
  return out;
}

function targetedProbe(protocol: string, alt: readonly Condition[]): Probe {
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
  // Quoted strings joined (unambiguous, and far cheaper than serializing the entries); the label
  // is gathered in the same pass.
  let key = `${protocol}|targeted|`;
  let names = '';
  for (const [name, v] of values) {
    key += `${JSON.stringify(name)}=${matchText(v)},`;
    names = names === '' ? name : `${names}, ${name}`;
  }
  key += `|${matchText(path)}|${method}|${port ?? '*'}`;
  return withPort(
    {
      key,
      path,
      method,
      protocol,
      values,
      targeted: true,
      label: `requests carrying ${names}`,
    },
    port,
  );
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
