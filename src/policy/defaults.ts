import type { PolicySpec, PolicySpecInput } from './types.js';

export const DEFAULT_EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Fills every default of CONTRACT §4. Rule-level `enforcement` inherits the spec-level one. */
export function resolveSpec(input: PolicySpecInput = {}): PolicySpec {
  const enforcement = input.enforcement ?? 'enforce';
  return {
    mesh: input.mesh ?? 'auto',
    fallbackMesh: input.fallbackMesh ?? 'istio',
    enforcement,
    excludedNamespaces: input.excludedNamespaces ?? DEFAULT_EXCLUDED_NAMESPACES,
    workloadScope: input.workloadScope ?? 'mesh',
    sidecarInjection: { enabled: input.sidecarInjection?.enabled ?? true },
    versionLabels: {
      required: input.versionLabels?.required ?? true,
      enforcement: input.versionLabels?.enforcement ?? enforcement,
      default: input.versionLabels?.default ?? 'none',
    },
    weightShift: {
      enforcement: input.weightShift?.enforcement ?? enforcement,
      maxStepWeight: input.weightShift?.maxStepWeight ?? 20,
      maxCanaryWeight: input.weightShift?.maxCanaryWeight ?? 100,
      minStepIntervalSeconds: input.weightShift?.minStepIntervalSeconds ?? 0,
      overrideGroups: input.weightShift?.overrideGroups ?? ['system:masters'],
    },
    namespaceOverrides: input.namespaceOverrides ?? 'tighten-only',
  };
}

export const DEFAULT_POLICY_SPEC: PolicySpec = resolveSpec();
