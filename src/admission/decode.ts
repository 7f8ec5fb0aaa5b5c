import { asRecord, isRecord } from '../util/objects.js';
import {
  ADMISSION_API_VERSIONS,
  OPERATIONS,
  type AdmissionApiVersion,
  type AdmissionRequest,
  type Operation,
} from './types.js';
import { type GroupVersionKind, type KubeObject } from '../k8s/objects.js';

export interface DecodedReview {
  readonly apiVersion: AdmissionApiVersion;
  readonly request: AdmissionRequest;
}

export type DecodeResult =
  | { readonly ok: true; readonly review: DecodedReview }
  | { readonly ok: false; readonly message: string };

/**
 * Checks that a parsed body is an AdmissionReview this server can read. Anything it cannot read
 * is refused (HTTP 400), never allowed: an `allowed: true` for an unread object would let it in
 * unchecked.
 */
export function decodeAdmissionReview(body: unknown): DecodeResult {
  const fail = (message: string): DecodeResult => ({ ok: false, message });
  if (!isRecord(body)) return fail('body is not a JSON object');
  const apiVersion = body.apiVersion;
  if (!(ADMISSION_API_VERSIONS as readonly unknown[]).includes(apiVersion)) {
    return fail(
      `apiVersion must be one of ${ADMISSION_API_VERSIONS.join(', ')}; got ${describe(apiVersion)}`,
    );
  }
  if (body.kind !== 'AdmissionReview') return fail('kind must be AdmissionReview');
  const req = asRecord(body.request);
  if (!req) return fail('request is missing');
  if (typeof req.uid !== 'string' || req.uid === '') return fail('request.uid is missing');
  const kind = readGvk(req.kind);
  if (!kind) return fail('request.kind must have string group, version and kind');
  const operation = req.operation;
  if (!(OPERATIONS as readonly unknown[]).includes(operation)) {
    return fail(`request.operation must be one of ${OPERATIONS.join(', ')}`);
  }
  const object = readObject(req.object);
  const oldObject = readObject(req.oldObject);
  if (object === false) return fail('request.object must be an object or null');
  if (oldObject === false) return fail('request.oldObject must be an object or null');
  if ((operation === 'CREATE' || operation === 'UPDATE') && object === null) {
    return fail(`request.object is required for ${String(operation)}`);
  }
  if (operation === 'UPDATE' && oldObject === null) {
    return fail('request.oldObject is required for UPDATE');
  }
  for (const key of ['name', 'namespace', 'subResource'] as const) {
    if (req[key] !== undefined && req[key] !== null && typeof req[key] !== 'string') {
      return fail(`request.${key} must be a string`);
    }
  }
  if (req.dryRun !== undefined && req.dryRun !== null && typeof req.dryRun !== 'boolean') {
    return fail('request.dryRun must be a boolean');
  }
  const userInfo = asRecord(req.userInfo) ?? {};
  const groups = Array.isArray(userInfo.groups)
    ? userInfo.groups.filter((g): g is string => typeof g === 'string')
    : undefined;
  // Assigned, not spread: two conditional spreads were most of this function's time.
  const user: { username?: string; groups?: string[] } = {};
  if (typeof userInfo.username === 'string') user.username = userInfo.username;
  if (groups) user.groups = groups;
  const request: AdmissionRequest = {
    uid: req.uid,
    kind,
    operation: operation as Operation,
    userInfo: user,
    object,
    oldObject,
    dryRun: req.dryRun === true,
  };
  if (typeof req.name === 'string' && req.name !== '') request.name = req.name;
  if (typeof req.namespace === 'string' && req.namespace !== '') request.namespace = req.namespace;
  if (typeof req.subResource === 'string' && req.subResource !== '') {
    request.subResource = req.subResource;
  }
  const requestKind = readGvk(req.requestKind);
  if (requestKind) request.requestKind = requestKind;
  return { ok: true, review: { apiVersion: apiVersion as AdmissionApiVersion, request } };
}

/** A short description of a value for an error message, whatever its size or depth. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a${typeof value === 'object' ? 'n' : ''} ${typeof value}`;
}

function readGvk(value: unknown): GroupVersionKind | undefined {
  if (!isRecord(value)) return undefined;
  const { group, version, kind } = value;
  if (typeof group !== 'string' || typeof version !== 'string' || typeof kind !== 'string') {
    return undefined;
  }
  if (kind === '') return undefined;
  return { group, version, kind };
}

/** `null` for absent, `false` for unreadable. An empty object (pepr's Pod fixture) counts as absent. */
function readObject(value: unknown): KubeObject | null | false {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) return false;
  if (Object.keys(value).length === 0) return null;
  return value;
}
