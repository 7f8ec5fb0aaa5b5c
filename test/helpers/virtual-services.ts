import type { KubeObject } from '../../src/k8s/objects.js';

/**
 * A generated destination: the subset of host `reviews`, its weight, and its port (`true` is
 * 9080; none when absent or false).
 */
export type GeneratedDestination = readonly [
  subset: string,
  weight: number,
  port?: boolean | number,
];

export interface GeneratedRoute {
  readonly name: string | undefined;
  readonly match: readonly object[];
  readonly dests: readonly GeneratedDestination[];
}

/**
 * The VirtualService shop/reviews a property test generated: every http route sends to subsets of
 * host `reviews`; names, matches, gateways and ports are written only when generated.
 */
export function generatedVirtualService(spec: {
  readonly hosts: readonly string[];
  readonly gateways?: readonly string[];
  readonly http: readonly GeneratedRoute[];
}): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'shop' },
    spec: {
      hosts: spec.hosts,
      ...(spec.gateways !== undefined && spec.gateways.length > 0
        ? { gateways: spec.gateways }
        : {}),
      http: spec.http.map((r) => ({
        ...(r.name ? { name: r.name } : {}),
        ...(r.match.length > 0 ? { match: r.match } : {}),
        route: r.dests.map(([subset, weight, port]) => ({
          destination: {
            host: 'reviews',
            subset,
            ...(port === true
              ? { port: { number: 9080 } }
              : port
                ? { port: { number: port } }
                : {}),
          },
          weight,
        })),
      })),
    },
  };
}
