import type { KubeObject } from '../../k8s/objects.js';
import { toConsulPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  roundingWarnings,
  type Writer,
} from '../../traffic/write-common.js';
import {
  CONSUL_GROUP,
  PROXY_DEFAULTS,
  SERVICE_DEFAULTS,
  serviceDefaults,
} from './prerequisites.js';

const PRODUCES = {
  group: CONSUL_GROUP,
  version: 'v1alpha1',
  kind: 'ServiceSplitter',
} as const;

/**
 * Consul: a ServiceSplitter, which Consul requires to be named after the service it splits (the
 * root), with one split per backend service. Weights are percentages with two decimals when
 * consul-k8s's float32 sum check accepts them, otherwise whole percents. A splitter splits all of
 * a service's traffic, so SMI matches (a split of matching requests only) are refused.
 * The ServiceDefaults the splitter needs come with it where the cluster has none (see
 * prerequisites.ts).
 */
export const consulWriter: Writer = {
  produces: PRODUCES,
  alsoProduces: [SERVICE_DEFAULTS],
  consults: [
    { ...SERVICE_DEFAULTS, resource: 'servicedefaults' },
    { ...PROXY_DEFAULTS, resource: 'proxydefaults', anyNamespace: true },
  ],
  write(input) {
    const { split } = input;
    if (input.matches) {
      return {
        ok: false,
        error: `a Consul ServiceSplitter splits all traffic of ${split.rootService} and cannot split only the requests that spec.matches selects: remove spec.matches, or translate for a mesh with matched routes`,
      };
    }
    const prerequisites = serviceDefaults(input);
    if ('error' in prerequisites) return { ok: false, error: prerequisites.error };
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
      objects: [object, ...prerequisites.objects],
      warnings: [
        ...roundingWarnings(
          input,
          normalized,
          normalized.basisPoints ? 'hundredths of a percent' : 'whole percents',
        ),
        ...prerequisites.warnings,
      ],
    };
  },
};
