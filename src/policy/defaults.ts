import type { PolicySpec, PolicySpecInput, TrustedController } from './types.js';

export const DEFAULT_EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Namespaces that Flagger's own kustomizations, Helm chart README and install guides put its
 * `flagger` ServiceAccount in (fluxcd/flagger kustomize/{base/flagger,istio,appmesh,contour,kuma,...},
 * charts/flagger/README.md, docs/gitbook/install and tutorials; osm-system from the OSM guide
 * before its removal). The same name in any other namespace is not trusted.
 */
export const FLAGGER_DEFAULT_NAMESPACES = [
  'flagger-system',
  'istio-system',
  'linkerd',
  'appmesh-system',
  'gloo-system',
  'kuma-system',
  'kong-mesh-system',
  'osm-system',
  'ingress-nginx',
  'projectcontour',
  'traefik',
  'apisix',
  'flagger',
] as const;

/**
 * The default trusted controllers: Flagger's default installs, and Argo Rollouts' own manifest
 * (argoproj/argo-rollouts manifests/install.yaml: ServiceAccount argo-rollouts/argo-rollouts).
 */
export const DEFAULT_TRUSTED_CONTROLLERS: readonly TrustedController[] = [
  ...FLAGGER_DEFAULT_NAMESPACES.map((ns): TrustedController => ({
    kind: 'flagger',
    serviceAccount: `${ns}/flagger`,
  })),
  { kind: 'argo-rollouts', serviceAccount: 'argo-rollouts/argo-rollouts' },
];

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
      ...stepLimits(input.weightShift?.maxStepWeight ?? 20, input.weightShift?.maxTotalStepWeight),
      ...canaryLimits(
        input.weightShift?.maxCanaryWeight ?? 100,
        input.weightShift?.maxTotalCanaryWeight,
      ),
      minStepIntervalSeconds: input.weightShift?.minStepIntervalSeconds ?? 0,
      overrideGroups: input.weightShift?.overrideGroups ?? ['system:masters'],
      trustedControllers: input.weightShift?.trustedControllers ?? DEFAULT_TRUSTED_CONTROLLERS,
    },
    namespaceOverrides: input.namespaceOverrides ?? 'tighten-only',
  };
}

/**
 * A per-backend limit and the limit for all backends but the stable one together. The total
 * defaults to the per-backend one, and a total below it lowers it: one backend alone is also all
 * of them.
 */
function perBackendAndTotal(each: number, total: number | undefined): [number, number] {
  const all = total ?? each;
  return [Math.min(each, all), all];
}

export function stepLimits(
  maxStepWeight: number,
  maxTotalStepWeight: number | undefined,
): { maxStepWeight: number; maxTotalStepWeight: number } {
  const [each, all] = perBackendAndTotal(maxStepWeight, maxTotalStepWeight);
  return { maxStepWeight: each, maxTotalStepWeight: all };
}

export function canaryLimits(
  maxCanaryWeight: number,
  maxTotalCanaryWeight: number | undefined,
): { maxCanaryWeight: number; maxTotalCanaryWeight: number } {
  const [each, all] = perBackendAndTotal(maxCanaryWeight, maxTotalCanaryWeight);
  return { maxCanaryWeight: each, maxTotalCanaryWeight: all };
}

export const DEFAULT_POLICY_SPEC: PolicySpec = resolveSpec();
