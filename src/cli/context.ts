import type { StaticClusterFacts } from '../admission/cluster-view.js';
import type { KubeObject } from '../k8s/objects.js';
import { isRecord } from '../util/objects.js';
import { readManifests, type InputError, type SourcedObject } from './manifests.js';
import { watchCacheFacts } from './review-context.js';

/** What `--context` files say the cluster holds: every object, and Namespaces by name. */
export interface ReviewContext {
  readonly objects: readonly KubeObject[];
  readonly namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly namespaceAnnotations: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly errors: readonly InputError[];
}

/** Reads `--context` files, folders or `-` like `-f` does; the objects are known, not reviewed. */
export async function readContext(paths: readonly string[] | undefined): Promise<ReviewContext> {
  if (paths === undefined || paths.length === 0)
    return { objects: [], namespaceLabels: {}, namespaceAnnotations: {}, errors: [] };
  const read = await readManifests(paths);
  return { ...indexContext(read.objects), errors: read.errors };
}

/** Indexes context objects: Namespaces by name (their labels and annotations). */
export function indexContext(sourced: readonly SourcedObject[]): Omit<ReviewContext, 'errors'> {
  const namespaceLabels: Record<string, Record<string, string>> = {};
  const namespaceAnnotations: Record<string, Record<string, string>> = {};
  for (const { object } of sourced) {
    if (object.kind !== 'Namespace' || object.apiVersion !== 'v1') continue;
    const name = object.metadata?.name;
    if (typeof name !== 'string' || name === '') continue;
    // The API server adds this label to every Namespace; a manifest usually leaves it out.
    namespaceLabels[name] = {
      'kubernetes.io/metadata.name': name,
      ...stringMap(object.metadata?.labels),
    };
    namespaceAnnotations[name] = stringMap(object.metadata?.annotations);
  }
  return { objects: sourced.map((s) => s.object), namespaceLabels, namespaceAnnotations };
}

/** The cluster facts of a context plus `--namespace-labels` (for namespaces it does not list). */
export function contextFacts(
  context: Omit<ReviewContext, 'errors'>,
  allNamespaceLabels: Readonly<Record<string, string>> | undefined,
): StaticClusterFacts {
  return {
    namespaceLabels: context.namespaceLabels,
    namespaceAnnotations: context.namespaceAnnotations,
    objects: context.objects,
    ...watchCacheFacts(context.objects),
    ...(allNamespaceLabels === undefined ? {} : { allNamespaceLabels }),
  };
}

/** Label and annotation values as the API server keeps them: strings (YAML may give scalars). */
function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value))
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[k] = String(v);
  return out;
}
