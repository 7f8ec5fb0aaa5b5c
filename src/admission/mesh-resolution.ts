import { NAMESPACE_MESH_LABEL } from '../k8s/keys.js';
import { isMeshId, type MeshId } from '../mesh/ids.js';
import type { PolicySpec } from '../policy/types.js';
import type { ClusterView } from './cluster-view.js';

/**
 * The mesh in force for a namespace, first found: the namespace's `meshwarden.io/mesh` label, the
 * policy's `mesh` when it is not `auto`, the mesh detected in the cluster, the policy's
 * `fallbackMesh`.
 */
export function resolveMesh(
  policy: PolicySpec,
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  cluster: ClusterView,
): MeshId {
  const labelled = namespaceLabels?.[NAMESPACE_MESH_LABEL];
  if (isMeshId(labelled)) return labelled;
  if (policy.mesh !== 'auto') return policy.mesh;
  return cluster.detectedMesh() ?? policy.fallbackMesh;
}
