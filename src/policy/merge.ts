import {
  ENFORCEMENTS,
  type Enforcement,
  type PolicyError,
  type PolicySpec,
  type PolicySpecInput,
  type TrustedController,
} from './types.js';
import { canaryLimits, stepLimits } from './defaults.js';

/** Keys that only the install-namespace policy may set: they describe the cluster, not a namespace. */
const CLUSTER_ONLY_KEYS = [
  'mesh',
  'fallbackMesh',
  'excludedNamespaces',
  'namespaceOverrides',
] as const;

function strictness(e: Enforcement): number {
  return ENFORCEMENTS.indexOf(e);
}

function stricterEnforcement(a: Enforcement, b: Enforcement): Enforcement {
  return strictness(a) >= strictness(b) ? a : b;
}

/**
 * Lists every key of a namespace override that would loosen the cluster policy (or that only the
 * cluster policy may set). An override with any such key is refused as a whole under
 * `namespaceOverrides: tighten-only`.
 */
export function looseningErrors(cluster: PolicySpec, override: PolicySpecInput): PolicyError[] {
  const errors: PolicyError[] = [];
  for (const key of CLUSTER_ONLY_KEYS) {
    if (override[key] !== undefined) {
      errors.push({
        key: `spec.${key}`,
        message: 'can only be set in the install namespace policy, not in a namespace override',
      });
    }
  }
  const enforcementCheck = (key: string, wanted: Enforcement | undefined, current: Enforcement) => {
    if (wanted !== undefined && strictness(wanted) < strictness(current)) {
      errors.push({
        key,
        message: `${wanted} is looser than the cluster's ${current}; a namespace may only tighten (tighten-only)`,
      });
    }
  };
  enforcementCheck('spec.enforcement', override.enforcement, cluster.enforcement);
  enforcementCheck(
    'spec.versionLabels.enforcement',
    override.versionLabels?.enforcement,
    cluster.versionLabels.enforcement,
  );
  enforcementCheck(
    'spec.weightShift.enforcement',
    override.weightShift?.enforcement,
    cluster.weightShift.enforcement,
  );
  if (override.workloadScope === 'mesh' && cluster.workloadScope === 'all') {
    errors.push({
      key: 'spec.workloadScope',
      message:
        "mesh is looser than the cluster's all; a namespace may only widen the workload rules' scope (tighten-only)",
    });
  }
  if (override.sidecarInjection?.enabled === false && cluster.sidecarInjection.enabled) {
    errors.push({
      key: 'spec.sidecarInjection.enabled',
      message:
        'false would turn off injection the cluster policy requires; opt a namespace out with the label meshwarden.io/enforce=disabled instead',
    });
  }
  if (override.versionLabels?.required === false && cluster.versionLabels.required) {
    errors.push({
      key: 'spec.versionLabels.required',
      message:
        'false is looser than the cluster policy (required: true); a namespace may only tighten',
    });
  }
  const ws = override.weightShift;
  const numberCheck = (
    key: string,
    wanted: number | undefined,
    current: number,
    lowerIsStricter: boolean,
  ) => {
    if (wanted === undefined) return;
    if (lowerIsStricter ? wanted > current : wanted < current) {
      errors.push({
        key,
        message: `${wanted} is looser than the cluster's ${current}; a namespace may only ${lowerIsStricter ? 'lower' : 'raise'} it (tighten-only)`,
      });
    }
  };
  numberCheck(
    'spec.weightShift.maxStepWeight',
    ws?.maxStepWeight,
    cluster.weightShift.maxStepWeight,
    true,
  );
  numberCheck(
    'spec.weightShift.maxTotalStepWeight',
    ws?.maxTotalStepWeight,
    cluster.weightShift.maxTotalStepWeight,
    true,
  );
  numberCheck(
    'spec.weightShift.maxCanaryWeight',
    ws?.maxCanaryWeight,
    cluster.weightShift.maxCanaryWeight,
    true,
  );
  numberCheck(
    'spec.weightShift.maxTotalCanaryWeight',
    ws?.maxTotalCanaryWeight,
    cluster.weightShift.maxTotalCanaryWeight,
    true,
  );
  numberCheck(
    'spec.weightShift.minStepIntervalSeconds',
    ws?.minStepIntervalSeconds,
    cluster.weightShift.minStepIntervalSeconds,
    false,
  );
  const extraGroups = (ws?.overrideGroups ?? []).filter(
    (g) => !cluster.weightShift.overrideGroups.includes(g),
  );
  if (extraGroups.length > 0) {
    errors.push({
      key: 'spec.weightShift.overrideGroups',
      message: `${extraGroups.join(', ')} not in the cluster's overrideGroups; a namespace may only remove groups`,
    });
  }
  const extraControllers = (ws?.trustedControllers ?? []).filter(
    (c) => !cluster.weightShift.trustedControllers.some((t) => sameController(t, c)),
  );
  if (extraControllers.length > 0) {
    errors.push({
      key: 'spec.weightShift.trustedControllers',
      message: `${extraControllers.map((c) => `${c.kind} ${c.serviceAccount}`).join(', ')} not in the cluster's trustedControllers; a namespace may only remove controllers`,
    });
  }
  return errors;
}

function sameController(a: TrustedController, b: TrustedController): boolean {
  return a.kind === b.kind && a.serviceAccount === b.serviceAccount;
}

/**
 * The policy in force for a namespace: for each key the stricter of the cluster policy and the
 * namespace override. Taking the stricter value (rather than trusting the override) keeps a
 * namespace from loosening anything even when the cluster policy later becomes stricter than an
 * override that was tighter when it was written.
 */
export function tightest(cluster: PolicySpec, override: PolicySpecInput): PolicySpec {
  const ws = override.weightShift ?? {};
  const vl = override.versionLabels ?? {};
  return {
    ...cluster,
    enforcement: stricterEnforcement(
      cluster.enforcement,
      override.enforcement ?? cluster.enforcement,
    ),
    // A namespace may put itself in scope (`all`), never take itself out.
    workloadScope:
      cluster.workloadScope === 'all' || override.workloadScope === 'all' ? 'all' : 'mesh',
    sidecarInjection: {
      enabled: cluster.sidecarInjection.enabled || (override.sidecarInjection?.enabled ?? false),
    },
    versionLabels: {
      required: cluster.versionLabels.required || (vl.required ?? false),
      enforcement: stricterEnforcement(
        cluster.versionLabels.enforcement,
        vl.enforcement ?? override.enforcement ?? cluster.versionLabels.enforcement,
      ),
      // How a missing label is filled is a convenience, not a loosening: the namespace chooses.
      default: vl.default ?? cluster.versionLabels.default,
    },
    weightShift: {
      enforcement: stricterEnforcement(
        cluster.weightShift.enforcement,
        ws.enforcement ?? override.enforcement ?? cluster.weightShift.enforcement,
      ),
      ...stepLimits(
        Math.min(cluster.weightShift.maxStepWeight, ws.maxStepWeight ?? Infinity),
        Math.min(cluster.weightShift.maxTotalStepWeight, ws.maxTotalStepWeight ?? Infinity),
      ),
      ...canaryLimits(
        Math.min(cluster.weightShift.maxCanaryWeight, ws.maxCanaryWeight ?? Infinity),
        Math.min(cluster.weightShift.maxTotalCanaryWeight, ws.maxTotalCanaryWeight ?? Infinity),
      ),
      minStepIntervalSeconds: Math.max(
        cluster.weightShift.minStepIntervalSeconds,
        ws.minStepIntervalSeconds ?? 0,
      ),
      overrideGroups:
        ws.overrideGroups === undefined
          ? cluster.weightShift.overrideGroups
          : cluster.weightShift.overrideGroups.filter((g) => ws.overrideGroups?.includes(g)),
      // A namespace may only remove trusted controllers: what it lists beyond the cluster's is dropped.
      trustedControllers:
        ws.trustedControllers === undefined
          ? cluster.weightShift.trustedControllers
          : cluster.weightShift.trustedControllers.filter((t) =>
              ws.trustedControllers?.some((c) => sameController(t, c)),
            ),
    },
  };
}
