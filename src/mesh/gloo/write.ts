import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  perPortName,
  portsUnknown,
  roundingWarnings,
  wholePathRegex,
  type Writer,
} from '../../traffic/write-common.js';

const PRODUCES = { group: 'gateway.solo.io', version: 'v1', kind: 'RouteTable' } as const;

/**
 * Gloo: a RouteTable named after the split (one per root port), routing `/` to the backend
 * Services as Kubernetes destinations with whole-percent weights. A VirtualService delegates to
 * it (`delegateAction.ref`), as Flagger's Gloo router does, so domains and TLS stay the user's.
 * With matches, the matched route comes first and a second route sends the rest to the root.
 */
export const glooWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split, ports } = input;
    if (!ports || ports.length === 0) return portsUnknown(input, PRODUCES);
    const normalized = toPercent(split.backends.map((b) => b.weight));
    const objects: KubeObject[] = ports.map((port) => {
      const kube = (name: string) => ({
        kube: { ref: { name, namespace: split.namespace }, port: port.port },
      });
      const multi = {
        destinations: split.backends.map((b, i) => ({
          destination: kube(b.service ?? b.name),
          weight: normalized.weights[i] ?? 0,
        })),
      };
      const routes = input.matches
        ? [
            { matchers: input.matches.map(glooMatcher), routeAction: { multi } },
            { matchers: [{ prefix: '/' }], routeAction: { single: kube(split.rootService) } },
          ]
        : [{ matchers: [{ prefix: '/' }], routeAction: { multi } }];
      return {
        apiVersion: apiVersionOf(PRODUCES),
        kind: PRODUCES.kind,
        metadata: metadata(perPortName(split.source.name, port, ports), input),
        spec: { routes },
      };
    });
    return { ok: true, objects, warnings: roundingWarnings(input, normalized, 'whole percents') };
  },
};

function glooMatcher(match: HttpMatch): Record<string, unknown> {
  const out: Record<string, unknown> =
    match.pathRegex === undefined ? { prefix: '/' } : { regex: wholePathRegex(match.pathRegex) };
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0)
    out.headers = headers.map(([name, value]) => ({ name, value, regex: true }));
  if (match.methods && match.methods.length > 0) out.methods = [...match.methods];
  return out;
}
