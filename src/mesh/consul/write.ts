import type { KubeObject } from '../../k8s/objects.js';
import { toConsulPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  roundingWarnings,
  type Writer,
} from '../../traffic/write-common.js';

const PRODUCES = {
  group: 'consul.hashicorp.com',
  version: 'v1alpha1',
  kind: 'ServiceSplitter',
} as const;

/**
 * Consul: a ServiceSplitter, which Consul requires to be named after the service it splits (the
 * root), with one split per backend service. Weights are percentages with two decimals when
 * consul-k8s's float32 sum check accepts them, otherwise whole percents. A splitter splits all of
 * a service's traffic, so SMI matches (a split of matching requests only) are refused.
 */
export const consulWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split } = input;
    if (input.matches) {
      return {
        ok: false,
        error: `a Consul ServiceSplitter splits all traffic of ${split.rootService} and cannot split only the requests that spec.matches selects: remove spec.matches, or translate for a mesh with matched routes`,
      };
    }
    const normalized = toConsulPercent(split.backends.map((b) => b.weight));
    const object: KubeObject = {
      apiVersion: apiVersionOf(PRODUCES),
      kind: PRODUCES.kind,
      metadata: metadata(split.rootService, input),
      spec: {
        splits: split.backends.map((b, i) => ({
          weight: normalized.weights[i] ?? 0,
          service: b.service ?? b.name,
        })),
      },
    };
    return {
      ok: true,
      objects: [object],
      warnings: roundingWarnings(
        input,
        normalized,
        normalized.basisPoints ? 'hundredths of a percent' : 'whole percents',
      ),
    };
  },
};
