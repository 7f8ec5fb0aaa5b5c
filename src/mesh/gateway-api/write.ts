import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toRelative } from '../../traffic/normalize.js';
import { isHttpProtocol } from '../../traffic/port-protocol.js';
import {
  chooseVersion,
  metadata,
  perMethod,
  perPortName,
  portsUnknown,
  type PortTarget,
  type Writer,
} from '../../traffic/write-common.js';
import { rankSafeLayout } from './rule-layout.js';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
/** Most preferred first: v1 (Gateway API v1.0+), v1beta1 (what Linkerd 2.14 to 2.17 bundle). */
export const HTTPROUTE_VERSIONS = ['v1', 'v1beta1'] as const;
const PRODUCES = { group: GATEWAY_API_GROUP, version: 'v1', kind: 'HTTPRoute' } as const;
/** HTTPRoute limits (gateway-api v1.6.1 CRD). */
const MAX_BACKEND_REFS = 16;
const MAX_MATCHES = 64;
const MAX_HEADERS = 16;
/** `backendRefs[].weight` maximum: weights are relative, not percentages. */
const MAX_WEIGHT = 1_000_000n;

/**
 * Gateway API in mesh mode (GAMMA: Linkerd, Kuma, Istio, or any implementation): an HTTPRoute
 * attached to the root Service (`group: ""`, `kind: Service`) per port. A mesh route rejects
 * requests that match none of its rules, so the last rule always matches everything: the
 * weighted rule itself, or, with SMI matches, a fallback rule to the root Service after the
 * matched rule, laid out so that the matched rule wins under every implementation's ranking
 * (see rule-layout.ts). Weights stay relative and exact (1 against 500 stays 1 and 500).
 * Each backendRef names the port the backend's own Service exposes for the root's port.
 */
export const gatewayApiWriter: Writer = {
  produces: PRODUCES,
  versions: { [GATEWAY_API_GROUP]: HTTPROUTE_VERSIONS },
  write(input) {
    const version = chooseVersion(input, GATEWAY_API_GROUP, HTTPROUTE_VERSIONS, PRODUCES.version);
    if (!version.ok) return version;
    const { split, targets } = input;
    if (!targets || targets.length === 0) return portsUnknown(input, PRODUCES);
    if (split.backends.length > MAX_BACKEND_REFS) {
      return {
        ok: false,
        error: `an HTTPRoute rule takes at most ${MAX_BACKEND_REFS} backendRefs; this split has ${split.backends.length} backends`,
      };
    }
    const crowded = input.matches?.find((m) => Object.keys(m.headers ?? {}).length > MAX_HEADERS);
    if (crowded) {
      return {
        ok: false,
        error: `match ${crowded.name} has more than ${MAX_HEADERS} headers, the most an HTTPRoute match takes`,
      };
    }
    const layout = input.matches ? rankSafeLayout(input.matches) : undefined;
    const routeMatches = layout
      ? perMethod(input.matches ?? []).map(({ match, method }) =>
          httpRouteMatch(match, method, layout.path),
        )
      : undefined;
    if (routeMatches && routeMatches.length > MAX_MATCHES) {
      return {
        ok: false,
        error: `an HTTPRoute rule takes at most ${MAX_MATCHES} matches; the HTTPRouteGroups give ${routeMatches.length}`,
      };
    }
    const warnings = new Set<string>();
    const routed = targets.filter((t) => {
      if (isHttpProtocol(t.protocol) || t.protocol === 'unknown') return true;
      warnings.add(
        `port ${t.root.port} of ${split.rootService} is ${t.protocol}: an HTTPRoute does not route it, so it is left out (TCPRoute and TLSRoute are experimental in Gateway API)`,
      );
      return false;
    });
    if (routed.length === 0)
      return {
        ok: false,
        error: `no port of root Service ${split.rootService} carries HTTP (${targets.map((t) => `${t.root.port}: ${t.protocol}`).join(', ')}): an HTTPRoute cannot split it`,
      };
    const objects: KubeObject[] = routed.map((target) => {
      const backendRefs = weightedRefs(target, warnings);
      const root = serviceRef(split.rootService, target.root.port);
      const rules =
        routeMatches && layout
          ? [
              { matches: routeMatches, backendRefs },
              { ...(layout.fallback ? { matches: [layout.fallback] } : {}), backendRefs: [root] },
            ]
          : [{ backendRefs }];
      return {
        apiVersion: `${GATEWAY_API_GROUP}/${version.version}`,
        kind: PRODUCES.kind,
        metadata: metadata(
          perPortName(
            split.source.name,
            target.root,
            routed.map((t) => t.root),
          ),
          input,
        ),
        spec: { parentRefs: [root], rules },
      };
    });
    return { ok: true, objects, warnings: [...warnings] };
  },
};

function serviceRef(name: string, port: number) {
  return { group: '', kind: 'Service', name, port };
}

function weightedRefs(target: PortTarget, warnings: Set<string>): Record<string, unknown>[] {
  const relative = toRelative(
    target.backends.map((b) => b.backend.weight),
    MAX_WEIGHT,
  );
  if (relative.approximated)
    warnings.add(
      `weights above ${MAX_WEIGHT} do not fit an HTTPRoute; they were scaled to at most ${MAX_WEIGHT}, so shares are approximate (no non-zero weight became 0)`,
    );
  return target.backends.map((b, i) => ({
    ...serviceRef(b.backend.service ?? b.backend.name, b.port.port),
    weight: relative.weights[i] ?? 0,
  }));
}

function httpRouteMatch(
  match: HttpMatch,
  method: string | undefined,
  path: (match: HttpMatch) => Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { path: path(match) };
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0) {
    out.headers = headers.map(([name, value]) => ({ type: 'RegularExpression', name, value }));
  }
  if (method !== undefined) out.method = method;
  return out;
}
