import type { Operation as PatchOperation } from 'rfc6902';
import { isJsonObject, jsonEqual, setOwn } from '../util/json.js';
import type { KubeObject } from '../k8s/objects.js';

export type JsonPatch = PatchOperation[];

export type PatchResult =
  | { readonly ok: true; readonly patch: JsonPatch }
  | { readonly ok: false; readonly patch: JsonPatch; readonly error: string };

/**
 * Diffs the object as received against the mutated copy and proves the patch applies to the
 * object as received. The API server turns a decodable patch that fails to apply into a 500 even
 * under failurePolicy Ignore, so an unverified patch is never sent.
 */
export function diffAndVerify(original: KubeObject, mutated: KubeObject): PatchResult {
  const patch = diffJson(original, mutated);
  if (patch.length === 0) return { ok: true, patch };
  const error = patchProblem(original, patch);
  return error === undefined ? { ok: true, patch } : { ok: false, patch, error };
}

export function encodePatch(patch: JsonPatch): string {
  return Buffer.from(JSON.stringify(patch)).toString('base64');
}

/** RFC 6901: `~` becomes `~0`, then `/` becomes `~1`. */
export function escapePointerToken(token: string): string {
  return token.includes('~') || token.includes('/')
    ? token.replaceAll('~', '~0').replaceAll('/', '~1')
    : token;
}

function unescapePointerToken(token: string): string {
  return token.includes('~') ? token.replaceAll('~1', '/').replaceAll('~0', '~') : token;
}

/**
 * An RFC 6902 patch from `from` to `to`: `remove`, `add` and `replace` operations, in the order
 * rfc6902's createPatch emits them for objects (removed keys, added keys, then changed keys).
 * Arrays keep their common head and tail and are diffed element by element in between, which
 * is linear where an edit distance is quadratic (and overflowed the stack on long arrays).
 * Work is spent only where the two differ, plus one equality walk of the rest.
 */
export function diffJson(from: unknown, to: unknown): JsonPatch {
  const ops: JsonPatch = [];
  diffValue(from, to, [], ops);
  return ops;
}

function pointer(tokens: readonly string[]): string {
  let out = '';
  for (const t of tokens) out += `/${escapePointerToken(t)}`;
  return out;
}

function diffValue(from: unknown, to: unknown, tokens: string[], ops: JsonPatch): void {
  if (from === to) return;
  const fromArray = Array.isArray(from);
  const toArray = Array.isArray(to);
  if (fromArray && toArray) {
    diffArrays(from as unknown[], to as unknown[], tokens, ops);
    return;
  }
  if (isJsonObject(from) && isJsonObject(to)) {
    diffObjects(from, to, tokens, ops);
    return;
  }
  if (!jsonEqual(from, to)) ops.push({ op: 'replace', path: pointer(tokens), value: to });
}

function diffObjects(
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  tokens: string[],
  ops: JsonPatch,
): void {
  const fromKeys = Object.keys(from);
  const toKeys = Object.keys(to);
  let changed: string[] | undefined;
  for (const key of fromKeys) {
    const a = from[key];
    if (a === undefined) continue;
    const b = Object.hasOwn(to, key) ? to[key] : undefined;
    if (b === undefined) {
      tokens.push(key);
      ops.push({ op: 'remove', path: pointer(tokens) });
      tokens.pop();
    } else if (a !== b) (changed ??= []).push(key);
  }
  for (const key of toKeys) {
    const b = to[key];
    if (b === undefined || (Object.hasOwn(from, key) && from[key] !== undefined)) continue;
    tokens.push(key);
    ops.push({ op: 'add', path: pointer(tokens), value: b });
    tokens.pop();
  }
  if (changed === undefined) return;
  for (const key of changed) {
    tokens.push(key);
    diffValue(from[key], to[key], tokens, ops);
    tokens.pop();
  }
}

function diffArrays(from: unknown[], to: unknown[], tokens: string[], ops: JsonPatch): void {
  let start = 0;
  const shorter = Math.min(from.length, to.length);
  while (start < shorter && jsonEqual(from[start], to[start])) start++;
  let endFrom = from.length;
  let endTo = to.length;
  while (endFrom > start && endTo > start && jsonEqual(from[endFrom - 1], to[endTo - 1])) {
    endFrom--;
    endTo--;
  }
  const common = Math.min(endFrom - start, endTo - start);
  for (let i = start; i < start + common; i++) {
    tokens.push(String(i));
    diffValue(from[i], to[i], tokens, ops);
    tokens.pop();
  }
  // Surplus of the old array: removed from the highest index down, so indexes stay valid.
  for (let i = endFrom - 1; i >= start + common; i--) {
    tokens.push(String(i));
    ops.push({ op: 'remove', path: pointer(tokens) });
    tokens.pop();
  }
  // Surplus of the new array: inserted in order. With no common tail they go at the end,
  // written `-` as rfc6902 does.
  const appending = endFrom === from.length;
  for (let i = start + common; i < endTo; i++) {
    tokens.push(appending ? '-' : String(i));
    ops.push({ op: 'add', path: pointer(tokens), value: to[i] });
    tokens.pop();
  }
}

/**
 * Why `patch` would not apply to `doc` under RFC 6902, or undefined when it applies. `doc` is
 * never changed: containers on each operation's path are copied before they are written, so
 * the check costs the length of the paths, not the size of the object.
 */
export function patchProblem(doc: unknown, patch: readonly PatchOperation[]): string | undefined {
  const owned = new Set<object>();
  const own = <T extends object>(container: T): T => {
    if (owned.has(container)) return container;
    const copy = (Array.isArray(container) ? container.slice() : { ...container }) as T;
    owned.add(copy);
    return copy;
  };
  let root: unknown = doc;
  for (const op of patch) {
    if (op.op !== 'add' && op.op !== 'remove' && op.op !== 'replace')
      return `unsupported operation ${op.op}`;
    if (op.path === '') {
      if (op.op === 'remove') return 'cannot remove the whole document';
      root = op.value;
      continue;
    }
    if (!op.path.startsWith('/')) return `invalid pointer ${op.path}`;
    const tokens = op.path.slice(1).split('/').map(unescapePointerToken);
    if (typeof root !== 'object' || root === null) return `${op.path}: no such path`;
    root = own(root);
    let parent = root as object;
    for (let i = 0; i < tokens.length - 1; i++) {
      const token = tokens[i] as string;
      const child = childOf(parent, token);
      if (typeof child !== 'object' || child === null) return `${op.path}: no such path`;
      const copy = own(child);
      if (Array.isArray(parent)) parent[Number(token)] = copy;
      else setOwn(parent as Record<string, unknown>, token, copy);
      parent = copy;
    }
    const last = tokens[tokens.length - 1] as string;
    const problem = applyAt(parent, last, op, op.path);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

const INDEX = /^(0|[1-9][0-9]*)$/;

function childOf(parent: object, token: string): unknown {
  if (Array.isArray(parent)) {
    if (!INDEX.test(token)) return undefined;
    return parent[Number(token)];
  }
  const record = parent as Record<string, unknown>;
  return Object.hasOwn(record, token) ? record[token] : undefined;
}

function applyAt(
  parent: object,
  token: string,
  op: PatchOperation,
  path: string,
): string | undefined {
  if (Array.isArray(parent)) {
    const index = token === '-' && op.op === 'add' ? parent.length : Number(token);
    if (token !== '-' && !INDEX.test(token)) return `${path}: not an array index`;
    if (op.op === 'add') {
      if (index > parent.length) return `${path}: index beyond the end of the array`;
      parent.splice(index, 0, op.value);
      return undefined;
    }
    if (index >= parent.length) return `${path}: no such element`;
    if (op.op === 'remove') parent.splice(index, 1);
    else if (op.op === 'replace') parent[index] = op.value as unknown;
    return undefined;
  }
  const record = parent as Record<string, unknown>;
  if (op.op === 'add') {
    setOwn(record, token, op.value);
    return undefined;
  }
  if (!Object.hasOwn(record, token)) return `${path}: no such member`;
  if (op.op === 'remove') delete record[token];
  else if (op.op === 'replace') setOwn(record, token, op.value);
  return undefined;
}
