import type { KubeObject } from '../k8s/objects.js';
import { asArray, asRecord } from '../util/objects.js';

/**
 * How an Argo Rollout routes traffic, read from `spec.strategy.canary` (argoproj/argo-rollouts
 * pkg/apis/rollouts/v1alpha1/types.go; the Gateway API plugin's config from
 * argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi pkg/plugin/types.go).
 */

/** A route object a Rollout writes weights to. */
export interface RolloutRouteRef {
  /** Which traffic router of the Rollout names it. */
  readonly via: 'istio' | 'smi' | 'gateway-api';
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** Istio: the http route names listed (`routes`); empty means the only or first unnamed one. */
  readonly routes: readonly string[];
}

export interface SetWeightStep {
  /** Index in `spec.strategy.canary.steps`. */
  readonly index: number;
  readonly weight: number;
  /** The field, for messages: `spec.strategy.canary.steps[2].setWeight`. */
  readonly path: string;
}

/** An `experiment` step whose templates take traffic (`weight`), each out of `maxTrafficWeight`. */
export interface ExperimentStep {
  readonly index: number;
  readonly weights: readonly number[];
  /** The canary's weight beside the templates: the last setWeight before this step, or 0. */
  readonly canaryWeight: number;
  /** `spec.strategy.canary.steps[3].experiment.templates`. */
  readonly path: string;
}

export interface RolloutRouting {
  readonly namespace: string;
  readonly name: string;
  readonly canaryService: string;
  readonly stableService: string;
  /** Istio subset-level splitting (`destinationRule`). */
  readonly canarySubset?: string;
  readonly stableSubset?: string;
  /** `trafficRouting.maxTrafficWeight`, 100 unless set: setWeight values are out of it. */
  readonly maxTrafficWeight: number;
  readonly steps: readonly SetWeightStep[];
  readonly experiments: readonly ExperimentStep[];
  readonly dynamicStableScale: boolean;
  /** `trafficRouting.managedRoutes[].name`: header and mirror routes Argo adds and removes. */
  readonly managedRoutes: readonly string[];
  readonly refs: readonly RolloutRouteRef[];
  /** False when the Rollout uses no canary strategy with traffic routing. */
  readonly routed: boolean;
}

const GATEWAY_PLUGIN = 'argoproj-labs/gatewayAPI';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function readRolloutRouting(rollout: KubeObject): RolloutRouting {
  const namespace = rollout.metadata?.namespace ?? '';
  const name = rollout.metadata?.name ?? '';
  const canary = asRecord(asRecord(asRecord(rollout.spec)?.strategy)?.canary);
  const routing = asRecord(canary?.trafficRouting);
  const refs: RolloutRouteRef[] = [];
  const istio = asRecord(routing?.istio);
  const destinationRule = asRecord(istio?.destinationRule);
  for (const vs of [istio?.virtualService, ...(asArray(istio?.virtualServices) ?? [])]) {
    const entry = asRecord(vs);
    const full = str(entry?.name);
    if (!entry || full === undefined) continue;
    // Argo accepts `name` or `name.namespace` (istio GetVirtualServiceNamespaceName).
    const dot = full.indexOf('.');
    refs.push({
      via: 'istio',
      kind: 'VirtualService',
      name: dot < 0 ? full : full.slice(0, dot),
      namespace: dot < 0 ? namespace : full.slice(dot + 1),
      routes: (asArray(entry.routes) ?? []).filter((r): r is string => typeof r === 'string'),
    });
  }
  const smi = asRecord(routing?.smi);
  if (smi) {
    // rollout/trafficrouting/smi/smi.go: the TrafficSplit defaults to the Rollout's name.
    refs.push({
      via: 'smi',
      kind: 'TrafficSplit',
      name: str(smi.trafficSplitName) ?? name,
      namespace,
      routes: [],
    });
  }
  const plugin = asRecord(asRecord(routing?.plugins)?.[GATEWAY_PLUGIN]);
  if (plugin) {
    const ns = str(plugin.namespace) ?? namespace;
    for (const [single, list, kind] of [
      ['httpRoute', 'httpRoutes', 'HTTPRoute'],
      ['grpcRoute', 'grpcRoutes', 'GRPCRoute'],
      ['tcpRoute', 'tcpRoutes', 'TCPRoute'],
      ['tlsRoute', 'tlsRoutes', 'TLSRoute'],
    ] as const) {
      const names = [
        str(plugin[single]),
        ...(asArray(plugin[list]) ?? []).map((r) => str(asRecord(r)?.name)),
      ];
      for (const n of names)
        if (n !== undefined)
          refs.push({ via: 'gateway-api', kind, name: n, namespace: ns, routes: [] });
    }
  }
  const steps: SetWeightStep[] = [];
  const experiments: ExperimentStep[] = [];
  (asArray(canary?.steps) ?? []).forEach((step, index) => {
    const weight = asRecord(step)?.setWeight;
    if (typeof weight === 'number' && Number.isFinite(weight))
      steps.push({ index, weight, path: `spec.strategy.canary.steps[${index}].setWeight` });
    // Each weighted template gets a backend of its own, taken from the stable share in one write.
    const weights = (asArray(asRecord(asRecord(step)?.experiment)?.templates) ?? [])
      .map((t) => asRecord(t)?.weight)
      .filter((w): w is number => typeof w === 'number' && Number.isFinite(w) && w > 0);
    if (weights.length > 0)
      experiments.push({
        index,
        weights,
        canaryWeight: steps.at(-1)?.weight ?? 0,
        path: `spec.strategy.canary.steps[${index}].experiment.templates`,
      });
  });
  const max = routing?.maxTrafficWeight;
  const canarySubset = str(destinationRule?.canarySubsetName);
  const stableSubset = str(destinationRule?.stableSubsetName);
  return {
    namespace,
    name,
    canaryService: str(canary?.canaryService) ?? '',
    stableService: str(canary?.stableService) ?? '',
    ...(canarySubset === undefined ? {} : { canarySubset }),
    ...(stableSubset === undefined ? {} : { stableSubset }),
    maxTrafficWeight: typeof max === 'number' && max > 0 ? max : 100,
    steps,
    experiments,
    dynamicStableScale: canary?.dynamicStableScale === true,
    managedRoutes: (asArray(routing?.managedRoutes) ?? [])
      .map((r) => str(asRecord(r)?.name))
      .filter((n): n is string => n !== undefined),
    refs,
    routed: routing !== undefined,
  };
}
