import { NAMESPACE_MESH_LABEL } from '../k8s/keys.js';
import type { PolicySpec } from '../policy/types.js';

/** Which mesh `serve` assumes, and why: the first of policy, detection, fallback that decides. */
export interface MeshStatement {
  readonly mesh: string;
  readonly basis: 'policy' | 'detection' | 'fallback';
  readonly message: string;
}

export function meshStatement(spec: PolicySpec, clusterMode: boolean): MeshStatement {
  const perNamespace = `; a namespace label ${NAMESPACE_MESH_LABEL} overrides it per namespace`;
  if (spec.mesh !== 'auto')
    return {
      mesh: spec.mesh,
      basis: 'policy',
      message: `mesh: ${spec.mesh}, from the policy (spec.mesh)${perNamespace}`,
    };
  if (clusterMode)
    return {
      mesh: 'auto',
      basis: 'detection',
      message: `mesh: detected in the cluster (spec.mesh is auto; see "mesh detection"); until one is found, the policy's fallbackMesh ${spec.fallbackMesh}${perNamespace}`,
    };
  return {
    mesh: spec.fallbackMesh,
    basis: 'fallback',
    message: `mesh: ${spec.fallbackMesh}, the policy's fallbackMesh (spec.mesh is auto and there is no cluster to detect one in)${perNamespace}`,
  };
}

/** Where the policy came from, for the start-up log. */
export function policyStatement(
  source: { readonly file?: string; readonly why: string },
  clusterMode: boolean,
  installNamespace: string,
): string {
  const base = source.file === undefined ? 'the built-in defaults' : source.file;
  const cluster = clusterMode
    ? `; the ConfigMap meshwarden-policy in ${installNamespace} overrides it once listed`
    : '';
  return `policy: ${base} (${source.why})${cluster}`;
}
