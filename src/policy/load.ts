import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { isRecord } from '../util/objects.js';
import { resolveSpec } from './defaults.js';
import { policyDocumentSchema } from './schema.js';
import {
  POLICY_CONFIGMAP_KEY,
  type PolicyDocument,
  type PolicyError,
  type PolicySpec,
  type PolicySpecInput,
} from './types.js';

export interface LoadedPolicy {
  /** As written, for tighten-only comparison of namespace overrides. */
  readonly input: PolicySpecInput;
  /** With defaults filled in. */
  readonly spec: PolicySpec;
}

export type PolicyResult =
  | { readonly ok: true; readonly policy: LoadedPolicy }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

// Compiled once: validation runs on every ConfigMap review and every reload.
const ajv = new Ajv({ allErrors: true, strict: true });
const validateDocument = ajv.compile<PolicyDocument>(policyDocumentSchema);

/** Validates an already-parsed policy document. `locate` maps a key path to a source line. */
export function validatePolicyObject(
  value: unknown,
  locate: (path: readonly (string | number)[]) => number | undefined = () => undefined,
): PolicyResult {
  if (!isRecord(value)) {
    return {
      ok: false,
      errors: [{ key: '', message: 'a policy must be a YAML mapping (MeshPolicy)' }],
    };
  }
  if (!validateDocument(value)) {
    const errors = (validateDocument.errors ?? []).map((e) => toPolicyError(e, value, locate));
    return { ok: false, errors: dedupe(errors) };
  }
  const input = value.spec ?? {};
  return { ok: true, policy: { input, spec: resolveSpec(input) } };
}

/**
 * The largest policy read, as a file or a ConfigMap value. The shipped policies are under 2 KiB;
 * the limit is checked before any YAML parsing, whose cost grows with size.
 */
export const MAX_POLICY_BYTES = 64 * 1024;

/** The error for a policy text over `MAX_POLICY_BYTES`, or undefined. Cheap: no parsing. */
export function policySizeError(text: string): PolicyError | undefined {
  // Code units bound UTF-8 bytes from below; the exact count is needed only near the limit.
  if (text.length <= MAX_POLICY_BYTES / 3) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= MAX_POLICY_BYTES) return undefined;
  return {
    key: '',
    message: `the policy is ${bytes} bytes; at most ${MAX_POLICY_BYTES} bytes (${MAX_POLICY_BYTES / 1024} KiB) are read`,
  };
}

/**
 * The document as plain values; `undefined` with an error when YAML aliases would expand past
 * the parser's limit (a "billion laughs" document): reported as such, never as a crash.
 */
function documentValue(doc: Document): { value: unknown } | { error: PolicyError } {
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) };
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message))
      return {
        error: {
          key: '',
          message:
            'YAML alias expansion limit exceeded: the aliases would expand past 100 copies (a YAML alias bomb?)',
        },
      };
    throw error;
  }
}

/** Parses policy YAML text (CONTRACT §4). Errors carry the line of the offending key. */
export function parsePolicyText(text: string): PolicyResult {
  const tooLarge = policySizeError(text);
  if (tooLarge !== undefined) return { ok: false, errors: [tooLarge] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({
        key: '',
        message: `not valid YAML: ${e.message.split('\n')[0] ?? e.code}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    };
  }
  const locate = (path: readonly (string | number)[]): number | undefined =>
    lineOf(doc, lineCounter, path);
  const read = documentValue(doc);
  if ('error' in read) return { ok: false, errors: [read.error] };
  return validatePolicyObject(read.value, locate);
}

/**
 * Reads either a MeshPolicy or a ConfigMap manifest whose `data["policy.yaml"]` holds one
 * (what `meshwarden policy check -f` accepts).
 */
export function parsePolicyOrConfigMap(text: string): PolicyResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const read = doc.errors.length === 0 ? documentValue(doc) : { value: undefined };
  if ('error' in read) return { ok: false, errors: [read.error] };
  const value: unknown = read.value;
  if (isRecord(value) && value.kind === 'ConfigMap') {
    const data = value.data;
    const inner = isRecord(data) ? data[POLICY_CONFIGMAP_KEY] : undefined;
    if (typeof inner !== 'string') {
      return {
        ok: false,
        errors: [
          {
            key: `data.${POLICY_CONFIGMAP_KEY}`,
            message: `the ConfigMap has no string key "${POLICY_CONFIGMAP_KEY}" holding the MeshPolicy`,
          },
        ],
      };
    }
    return policyFromConfigMapData(inner, lineOf(doc, lineCounter, ['data', POLICY_CONFIGMAP_KEY]));
  }
  return parsePolicyText(text);
}

/** Parses `data["policy.yaml"]`; lines are shifted to the manifest when `baseLine` is known. */
export function policyFromConfigMapData(inner: string, baseLine?: number): PolicyResult {
  const result = parsePolicyText(inner);
  if (result.ok) return result;
  return {
    ok: false,
    errors: result.errors.map((e) => ({
      ...e,
      key: e.key === '' ? `data.${POLICY_CONFIGMAP_KEY}` : `data.${POLICY_CONFIGMAP_KEY}: ${e.key}`,
      // A block scalar starts on the line after its key.
      ...(e.line !== undefined && baseLine !== undefined ? { line: baseLine + e.line } : {}),
    })),
  };
}

export function formatPolicyErrors(errors: readonly PolicyError[], source?: string): string {
  return errors
    .map((e) => {
      const where = [source, e.line === undefined ? undefined : `line ${e.line}`]
        .filter(Boolean)
        .join(':');
      const key = e.key === '' ? '' : `${e.key}: `;
      return `${where === '' ? '' : `${where}: `}${key}${e.message}`;
    })
    .join('\n');
}

function toPolicyError(
  e: ErrorObject,
  root: Record<string, unknown>,
  locate: (path: readonly (string | number)[]) => number | undefined,
): PolicyError {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  const params = e.params as Record<string, unknown>;
  let message: string;
  let keyPath: (string | number)[] = path;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      keyPath = [...path, extra];
      const allowed = allowedKeys(path);
      message = `unknown key "${extra}"${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`;
      break;
    }
    case 'required':
      message = `missing required key "${String(params.missingProperty)}"`;
      break;
    case 'enum':
      message = `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}; got ${show(valueAt(root, path))}`;
      break;
    case 'const':
      message = `must be ${show(params.allowedValue)}; got ${show(valueAt(root, path))}`;
      break;
    case 'minimum':
    case 'maximum':
      message = `must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}; got ${show(valueAt(root, path))}`;
      break;
    case 'uniqueItems':
      message = 'must not list the same value twice';
      break;
    case 'pattern':
      message =
        path.at(-1) === 'serviceAccount'
          ? `must be namespace/name of a ServiceAccount, e.g. istio-system/flagger; got ${show(valueAt(root, path))}`
          : `${e.message ?? 'is invalid'}; got ${show(valueAt(root, path))}`;
      break;
    default:
      message = `${e.message ?? 'is invalid'}; got ${show(valueAt(root, path))}`;
  }
  const key = keyPath.map(String).join('.');
  const line = locate(keyPath);
  return line === undefined ? { key, message } : { key, message, line };
}

function allowedKeys(path: readonly string[]): string[] {
  let node: unknown = policyDocumentSchema;
  for (const segment of path) {
    // A list index steps into the schema of the list's items.
    if (/^\d+$/.test(segment) && isRecord(node) && isRecord(node.items)) {
      node = node.items;
      continue;
    }
    const props: unknown = isRecord(node) ? node.properties : undefined;
    node = isRecord(props) ? props[segment] : undefined;
  }
  const props = isRecord(node) ? node.properties : undefined;
  return isRecord(props) ? Object.keys(props) : [];
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) {
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isRecord(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function dedupe(errors: PolicyError[]): PolicyError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.key}\u0000${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function lineOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  // Walk down as far as the path exists, so that a bad value points at its key's line.
  let node: unknown = doc.contents;
  let line: number | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isRecord(p.key) && (p.key as { value?: unknown }).value === segment,
      );
      if (!pair) break;
      const range = (pair.key as { range?: [number, number, number] }).range;
      if (range) line = lineCounter.linePos(range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof segment !== 'string') {
      node = node.items[segment];
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) line = lineCounter.linePos(range[0]).line;
    } else if (isSeq(node)) {
      node = node.items[Number(segment)];
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) line = lineCounter.linePos(range[0]).line;
    } else break;
  }
  return line ?? (path.length === 0 ? 1 : undefined);
}
