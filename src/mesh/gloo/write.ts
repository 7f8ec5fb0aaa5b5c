import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toRelative } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  perPortName,
  portsUnknown,
  type Writer,
} from '../../traffic/write-common.js';
import { delegatableRegex, DELEGATING_PREFIX } from './delegation.js';

const PRODUCES = { group: 'gateway.solo.io', version: 'v1', kind: 'RouteTable' } as const;
/** Envoy caps a weighted cluster's total at 2^32-1 (envoyproxy/envoy#24986): stay well below. */
const MAX_WEIGHT = 1_000_000n;

/**
 * Gloo: a RouteTable named after the split (one per root port) for a VirtualService to delegate
 * to (`delegateAction.ref`), as Flagger's Gloo router does, so domains and TLS stay the user's.
 * The backend Services are Kubernetes destinations on their own ports, with relative weights kept
 * exactly (Gloo weights are relative uint32). With matches, the matched routes come first (Gloo
 * takes a RouteTable's routes in order) and a last route sends the rest to the root. Delegation
 * is written the way Gloo accepts it (see delegation.ts).
 */
export const glooWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split, targets } = input;
    if (!targets || targets.length === 0) return portsUnknown(input, PRODUCES);
    const matchers = input.matches ? glooMatchers(input.matches) : undefined;
    if (matchers && 'error' in matchers) return { ok: false, error: matchers.error };
    const warnings = new Set<string>();
    const objects: KubeObject[] = targets.map((target) => {
      const kube = (name: string, port: number) => ({
        kube: { ref: { name, namespace: split.namespace }, port },
      });
      const relative = toRelative(
        target.backends.map((b) => b.backend.weight),
        MAX_WEIGHT,
      );
      if (relative.approximated)
        warnings.add(
          `weights above ${MAX_WEIGHT} were scaled to at most ${MAX_WEIGHT}, so shares are approximate (no non-zero weight became 0)`,
        );
      const multi = {
        destinations: target.backends.map((b, i) => ({
          destination: kube(b.backend.service ?? b.backend.name, b.port.port),
          weight: relative.weights[i] ?? 0,
        })),
      };
      const catchAll = { matchers: [{ prefix: DELEGATING_PREFIX }], inheritablePathMatchers: true };
      const routes = matchers
        ? [
            ...matchers.withPath.map((m) => ({ matchers: m, routeAction: { multi } })),
            ...(matchers.inheriting.length > 0
              ? [
                  {
                    matchers: matchers.inheriting,
                    inheritablePathMatchers: true,
                    routeAction: { multi },
                  },
                ]
              : []),
            {
              ...catchAll,
              routeAction: { single: kube(split.rootService, target.root.port) },
            },
          ]
        : [{ ...catchAll, routeAction: { multi } }];
      return {
        apiVersion: apiVersionOf(PRODUCES),
        kind: PRODUCES.kind,
        metadata: metadata(
          perPortName(
            split.source.name,
            target.root,
            targets.map((t) => t.root),
          ),
          input,
        ),
        spec: { routes },
      };
    });
    return { ok: true, objects, warnings: [...warnings] };
  },
};

/**
 * Matches with a path expression, one route (and its own path) each; header- and method-only
 * matches together in one route that inherits the delegating prefix.
 */
function glooMatchers(
  matches: readonly HttpMatch[],
):
  | { withPath: Record<string, unknown>[][]; inheriting: Record<string, unknown>[] }
  | { error: string } {
  const withPath: Record<string, unknown>[][] = [];
  const inheriting: Record<string, unknown>[] = [];
  for (const match of matches) {
    const rest: Record<string, unknown> = {};
    const headers = Object.entries(match.headers ?? {});
    if (headers.length > 0)
      rest.headers = headers.map(([name, value]) => ({ name, value, regex: true }));
    if (match.methods && match.methods.length > 0) rest.methods = [...match.methods];
    if (match.pathRegex === undefined) {
      inheriting.push({ prefix: DELEGATING_PREFIX, ...rest });
      continue;
    }
    const regex = delegatableRegex(match.pathRegex);
    if (regex === undefined)
      return {
        error: `match ${match.name}: Gloo drops a delegated RouteTable route whose regex does not begin with the delegating VirtualService's prefix ${DELEGATING_PREFIX}, and pathRegex "${match.pathRegex}" cannot be written so: make each alternative begin with a literal /`,
      };
    withPath.push([{ regex, ...rest }]);
  }
  return { withPath, inheriting };
}
