import type { KubeObject } from '../k8s/objects.js';
import { asArray, asRecord, isRecord } from '../util/objects.js';
import type { HttpMatch, LocatedError, MatchRef } from './model.js';
import { splitApiVersion } from '../util/api-version.js';

export const ROUTE_GROUP_API_GROUP = 'specs.smi-spec.io';

const METHODS = new Set([
  '*',
  'GET',
  'HEAD',
  'PUT',
  'POST',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/** Is this an SMI HTTPRouteGroup (specs.smi-spec.io, any version)? */
export function isHttpRouteGroup(object: KubeObject): boolean {
  return (
    object.kind === 'HTTPRouteGroup' &&
    splitApiVersion(typeof object.apiVersion === 'string' ? object.apiVersion : '').group ===
      ROUTE_GROUP_API_GROUP
  );
}

/**
 * Resolves a TrafficSplit's `spec.matches` against the HTTPRouteGroups of its namespace. All
 * routes of all groups are merged into one list: any of them matching sends the request to the
 * split's backends (SMI: "all routes will be merged into a single group").
 */
export function resolveMatches(
  refs: readonly MatchRef[],
  namespace: string,
  groups: readonly KubeObject[],
): { matches: HttpMatch[]; errors: LocatedError[] } {
  const matches: HttpMatch[] = [];
  const errors: LocatedError[] = [];
  for (const ref of refs) {
    const group = groups.find(
      (g) =>
        isHttpRouteGroup(g) &&
        g.metadata?.name === ref.name &&
        (g.metadata.namespace ?? namespace) === namespace,
    );
    if (!group) {
      errors.push({
        path: ref.path,
        message: `HTTPRouteGroup ${ref.name} was not found in namespace ${namespace}: its matches are needed to translate the split; give it alongside the TrafficSplit`,
      });
      continue;
    }
    // v1alpha1/v1alpha2 groups keep `matches` at the top level; later versions under `spec`.
    const raw = asRecord(group.spec)?.matches ?? group.matches;
    const list = asArray(raw);
    if (!list || list.length === 0) {
      errors.push({ path: ref.path, message: `HTTPRouteGroup ${ref.name} has no matches` });
      continue;
    }
    list.forEach((item, i) => {
      const read = readMatch(item, ref.name, i);
      if ('error' in read) errors.push({ path: ref.path, message: read.error });
      else matches.push(read.match);
    });
  }
  return { matches, errors };
}

function readMatch(
  item: unknown,
  group: string,
  index: number,
): { match: HttpMatch } | { error: string } {
  const where = `HTTPRouteGroup ${group} matches[${index}]`;
  if (!isRecord(item)) return { error: `${where} is not a map` };
  const name = typeof item.name === 'string' && item.name !== '' ? item.name : String(index);
  const match: { -readonly [K in keyof HttpMatch]: HttpMatch[K] } = { name: `${group}/${name}` };
  if (item.pathRegex !== undefined && item.pathRegex !== null) {
    if (typeof item.pathRegex !== 'string') return { error: `${where}.pathRegex is not a string` };
    if (item.pathRegex !== '') match.pathRegex = item.pathRegex;
  }
  if (item.methods !== undefined && item.methods !== null) {
    const methods = asArray(item.methods);
    if (!methods || methods.some((m) => typeof m !== 'string' || !METHODS.has(m.toUpperCase())))
      return { error: `${where}.methods must list HTTP methods (GET, POST, ... or *)` };
    const upper = [...new Set(methods.map((m) => String(m).toUpperCase()))];
    if (upper.length > 0 && !upper.includes('*')) match.methods = upper;
  }
  if (item.headers !== undefined && item.headers !== null) {
    // The spec text shows a map; the v1alpha4 CRD a list of maps. Every entry must match.
    const entries = Array.isArray(item.headers) ? item.headers : [item.headers];
    const headers: Record<string, string> = {};
    for (const entry of entries) {
      if (!isRecord(entry))
        return { error: `${where}.headers must map header names to regular expressions` };
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') return { error: `${where}.headers.${k} is not a string` };
        headers[k.toLowerCase()] = v;
      }
    }
    if (Object.keys(headers).length > 0) match.headers = headers;
  }
  return { match };
}
