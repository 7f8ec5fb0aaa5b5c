import type { KindRef } from '../k8s/objects.js';
import { ROUTE_KINDS } from '../mesh/registry.js';
import { defaultRules } from '../rules/index.js';
import { splitApiVersion } from '../util/api-version.js';

/** Core kinds a custom resource may share a name with (a Knative `Service`). */
const CORE_KINDS = ['Service', 'ConfigMap', 'Namespace', 'Pod', 'Secret', 'Endpoints'];

/** Every kind meshwarden knows by name: its rules' kinds, the route kinds, a few core ones. */
function knownKinds(): KindRef[] {
  const rules = defaultRules();
  return [
    ...[...rules.mutators, ...rules.validators].flatMap((r) => r.kinds),
    ...ROUTE_KINDS,
    ...CORE_KINDS.map((kind) => ({ group: '', kind })),
  ];
}

/**
 * Names kinds for people: `Kind.group` (kubectl's form) where the kind alone is ambiguous,
 * known in more than one API group by meshwarden or among the objects at hand; the plain kind
 * otherwise, and always for the core group.
 */
export function kindNamer(
  objects: readonly { readonly kind: string; readonly apiVersion: string }[],
): (object: { readonly kind: string; readonly apiVersion: string }) => string {
  const groups = new Map<string, Set<string>>();
  const add = (kind: string, group: string) => {
    const set = groups.get(kind) ?? new Set<string>();
    set.add(group);
    groups.set(kind, set);
  };
  for (const { kind, group } of knownKinds()) add(kind, group);
  for (const o of objects) add(o.kind, splitApiVersion(o.apiVersion).group);
  return ({ kind, apiVersion }) => {
    const { group } = splitApiVersion(apiVersion);
    return group !== '' && (groups.get(kind)?.size ?? 0) > 1 ? `${kind}.${group}` : kind;
  };
}
