import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  perMethod,
  perPortName,
  portsUnknown,
  roundingWarnings,
  wholePathRegex,
  type Writer,
} from '../../traffic/write-common.js';

const PRODUCES = { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' } as const;
/** HTTPRoute limits (gateway-api v1.6.1 CRD). */
const MAX_BACKEND_REFS = 16;
const MAX_MATCHES = 64;
const MAX_HEADERS = 16;

/**
 * Gateway API in mesh mode (GAMMA: Linkerd, Kuma, or any implementation): an HTTPRoute attached
 * to the root Service (`group: ""`, `kind: Service`) per port. A mesh route rejects requests that
 * match none of its rules, so the last rule always matches everything: the weighted rule itself,
 * or, with SMI matches, a fallback rule to the root Service after the matched rule.
 */
export const gatewayApiWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split, ports } = input;
    if (!ports || ports.length === 0) return portsUnknown(input, PRODUCES);
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
    const routeMatches = input.matches
      ? perMethod(input.matches).map(({ match, method }) => httpRouteMatch(match, method))
      : undefined;
    if (routeMatches && routeMatches.length > MAX_MATCHES) {
      return {
        ok: false,
        error: `an HTTPRoute rule takes at most ${MAX_MATCHES} matches; the HTTPRouteGroups give ${routeMatches.length}`,
      };
    }
    const normalized = toPercent(split.backends.map((b) => b.weight));
    const objects: KubeObject[] = ports.map((port) => {
      const ref = (name: string) => ({ group: '', kind: 'Service', name, port: port.port });
      const backendRefs = split.backends.map((b, i) => ({
        ...ref(b.service ?? b.name),
        weight: normalized.weights[i] ?? 0,
      }));
      const rules = routeMatches
        ? [{ matches: routeMatches, backendRefs }, { backendRefs: [ref(split.rootService)] }]
        : [{ backendRefs }];
      return {
        apiVersion: apiVersionOf(PRODUCES),
        kind: PRODUCES.kind,
        metadata: metadata(perPortName(split.source.name, port, ports), input),
        spec: { parentRefs: [ref(split.rootService)], rules },
      };
    });
    return { ok: true, objects, warnings: roundingWarnings(input, normalized, 'whole percents') };
  },
};

function httpRouteMatch(match: HttpMatch, method: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    path:
      match.pathRegex === undefined
        ? { type: 'PathPrefix', value: '/' }
        : { type: 'RegularExpression', value: wholePathRegex(match.pathRegex) },
  };
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0) {
    out.headers = headers.map(([name, value]) => ({ type: 'RegularExpression', name, value }));
  }
  if (method !== undefined) out.method = method;
  return out;
}
