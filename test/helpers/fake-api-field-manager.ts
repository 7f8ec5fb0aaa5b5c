/**
 * Field ownership for the fake API server: a small model of kube-apiserver's managedFields and
 * server-side apply. Maps merge key by key; lists are atomic (the real server merges some lists
 * by key, e.g. ownerReferences by uid; the fake treats every list as one value).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type FieldPath = readonly string[];

export interface ManagerEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  /** Leaf paths, each JSON-encoded. */
  fields: Set<string>;
}

export interface Conflict {
  readonly manager: string;
  readonly field: string;
}

/** Paths the server sets itself; nobody owns them. */
const UNOWNED = [
  ['apiVersion'],
  ['kind'],
  ['metadata', 'name'],
  ['metadata', 'namespace'],
  ['metadata', 'uid'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'generation'],
  ['metadata', 'creationTimestamp'],
  ['metadata', 'managedFields'],
].map((p) => JSON.stringify(p));

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Every leaf path of an object: scalars, lists and empty maps are leaves. */
export function leafPaths(value: Json, prefix: string[] = []): string[][] {
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) return prefix.length === 0 ? [] : [prefix];
    return keys.flatMap((k) => leafPaths(value[k] as Json, [...prefix, k]));
  }
  return [prefix];
}

export function getPath(value: Json | undefined, path: FieldPath): Json | undefined {
  let node: Json | undefined = value;
  for (const segment of path) {
    if (!isObject(node)) return undefined;
    node = node[segment];
  }
  return node;
}

export function setPath(target: JsonObject, path: FieldPath, value: Json): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isObject(next)) node[segment] = {};
    node = node[segment] as JsonObject;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = clone(value);
}

export function deletePath(target: JsonObject, path: FieldPath): void {
  const parents: JsonObject[] = [];
  let node: Json | undefined = target;
  for (const segment of path.slice(0, -1)) {
    if (!isObject(node)) return;
    parents.push(node);
    node = node[segment];
  }
  const last = path[path.length - 1];
  if (!isObject(node) || last === undefined) return;
  delete node[last];
  // Drop maps left empty by the removal, as the real server does for fields only we set.
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = parents[i];
    const key = path[i];
    if (parent === undefined || key === undefined) break;
    const child = parent[key];
    if (isObject(child) && Object.keys(child).length === 0) delete parent[key];
    else break;
  }
}

function owned(paths: string[][]): Set<string> {
  return new Set(paths.map((p) => JSON.stringify(p)).filter((p) => !UNOWNED.includes(p)));
}

function overlaps(a: string, b: string): boolean {
  const pa = JSON.parse(a) as string[];
  const pb = JSON.parse(b) as string[];
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) if (pa[i] !== pb[i]) return false;
  return true;
}

export interface ApplyResult {
  readonly object: JsonObject;
  readonly managers: ManagerEntry[];
  readonly conflicts: readonly Conflict[];
}

/**
 * Server-side apply of `applied` by `manager` onto `current` (undefined: create). Conflicts are
 * fields whose value would change and that another manager owns; with `force` they are taken.
 */
export function serverSideApply(
  current: JsonObject | undefined,
  managers: readonly ManagerEntry[],
  applied: JsonObject,
  manager: string,
  apiVersion: string,
  force: boolean,
  now: string,
): ApplyResult {
  const appliedFields = owned(leafPaths(applied));
  const base: JsonObject = current ? clone(current) : {};
  const next = managers.map((m) => ({ ...m, fields: new Set(m.fields) }));
  const isSelf = (m: ManagerEntry) => m.manager === manager && m.operation === 'Apply';

  const conflicts: Conflict[] = [];
  for (const field of appliedFields) {
    const path = JSON.parse(field) as string[];
    if (deepEqual(getPath(base, path), getPath(applied, path))) continue;
    for (const m of next) {
      if (isSelf(m)) continue;
      for (const theirs of m.fields) {
        if (!overlaps(theirs, field)) continue;
        if (force) m.fields.delete(theirs);
        else conflicts.push({ manager: m.manager, field: `.${path.join('.')}` });
      }
    }
  }
  if (conflicts.length > 0) return { object: base, managers: [...managers], conflicts };

  const self = next.find(isSelf);
  if (self) {
    for (const field of self.fields) {
      if (appliedFields.has(field)) continue;
      const ownedElsewhere = next.some(
        (m) => m !== self && [...m.fields].some((f) => overlaps(f, field)),
      );
      if (!ownedElsewhere) deletePath(base, JSON.parse(field) as string[]);
    }
  }
  for (const field of appliedFields) {
    const path = JSON.parse(field) as string[];
    setPath(base, path, getPath(applied, path) as Json);
  }
  for (const key of ['name', 'namespace']) {
    const value = getPath(applied, ['metadata', key]);
    if (value !== undefined) setPath(base, ['metadata', key], value);
  }
  const selfEntry: ManagerEntry = self ?? {
    manager,
    operation: 'Apply',
    apiVersion,
    time: now,
    fields: new Set(),
  };
  const changed = !deepEqual([...selfEntry.fields].sort(), [...appliedFields].sort());
  selfEntry.fields = appliedFields;
  if (changed || !current) selfEntry.time = now;
  const result = next.filter((m) => m !== self && m.fields.size > 0);
  result.push(selfEntry);
  return { object: base, managers: result, conflicts: [] };
}

/** Ownership after a non-apply write: the writer owns what it changed; others lose it. */
export function recordUpdate(
  before: JsonObject | undefined,
  after: JsonObject,
  managers: readonly ManagerEntry[],
  manager: string,
  apiVersion: string,
  now: string,
): ManagerEntry[] {
  const changed = new Set<string>();
  for (const path of leafPaths(after))
    if (!before || !deepEqual(getPath(before, path), getPath(after, path)))
      changed.add(JSON.stringify(path));
  const removed = new Set<string>();
  if (before)
    for (const path of leafPaths(before))
      if (getPath(after, path) === undefined) removed.add(JSON.stringify(path));
  const gained = owned([...changed].map((f) => JSON.parse(f) as string[]));
  const next = managers.map((m) => ({ ...m, fields: new Set(m.fields) }));
  for (const m of next) {
    for (const f of [...m.fields]) {
      if ([...changed, ...removed].some((c) => overlaps(c, f))) m.fields.delete(f);
    }
  }
  let self = next.find((m) => m.manager === manager && m.operation === 'Update');
  if (gained.size > 0) {
    if (!self) {
      self = { manager, operation: 'Update', apiVersion, time: now, fields: new Set() };
      next.push(self);
    }
    for (const f of gained) self.fields.add(f);
    self.time = now;
  }
  return next.filter((m) => m.fields.size > 0);
}

/** managedFields as the API server renders them (FieldsV1). */
export function renderManagedFields(managers: readonly ManagerEntry[]): Json[] {
  return managers.map((m) => {
    const fieldsV1: JsonObject = {};
    for (const field of m.fields) {
      let node = fieldsV1;
      for (const segment of JSON.parse(field) as string[]) {
        const key = `f:${segment}`;
        if (!isObject(node[key])) node[key] = {};
        node = node[key];
      }
    }
    return {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: 'FieldsV1',
      fieldsV1,
    };
  });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
