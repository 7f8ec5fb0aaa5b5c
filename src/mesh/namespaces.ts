import type { MeshAdapter, NamespaceOptIn } from './adapter.js';
import { meshAdapters } from './registry.js';

type Metadata = Readonly<Record<string, string>> | undefined;

/** The mesh whose control plane usually lives in `namespace`, if any. */
export function controlPlaneOwner(namespace: string): MeshAdapter | undefined {
  return meshAdapters().find((a) => a.controlPlaneNamespaces.includes(namespace));
}

export interface MeshOptIn {
  readonly mesh: MeshAdapter;
  readonly match: NamespaceOptIn;
  /** `key=value` as found on the namespace, for messages. */
  readonly found: string;
}

/**
 * The first mesh opt-in a namespace carries, from any adapter: a namespace that asks any mesh for
 * sidecars (or ambient mode) takes part in a mesh, whichever mesh is in force.
 */
export function meshOptIn(labels: Metadata, annotations: Metadata): MeshOptIn | undefined {
  for (const mesh of meshAdapters()) {
    for (const match of mesh.namespaceOptIns) {
      const value = (match.on === 'label' ? labels : annotations)?.[match.key];
      if (typeof value !== 'string' || value === '') continue;
      const lower = value.toLowerCase();
      if (match.values === undefined || match.values.some((v) => v.toLowerCase() === lower))
        return { mesh, match, found: `${match.key}=${value}` };
    }
  }
  return undefined;
}
