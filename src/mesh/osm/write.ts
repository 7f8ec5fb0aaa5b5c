import type { KubeObject } from '../../k8s/objects.js';
import { apportion } from '../../traffic/normalize.js';
import { TRAFFIC_SPLIT_GROUP, TRAFFIC_SPLIT_KIND } from '../../traffic/smi/api.js';
import { apiVersionOf, kindText, metadata, type Writer } from '../../traffic/write-common.js';

const PRODUCES = {
  group: TRAFFIC_SPLIT_GROUP,
  version: 'v1alpha2',
  kind: TRAFFIC_SPLIT_KIND,
} as const;
/** OSM reads weights into a Go int; stay within what JSON carries exactly. */
const MAX_WEIGHT = BigInt(Number.MAX_SAFE_INTEGER);
const FALLBACK_TOTAL = 10_000n;

/**
 * OSM reads SMI itself, in version v1alpha2 (the only TrafficSplit version its CRD serves): the
 * output is the split as v1alpha2, root and backends as short Service names, weights as the
 * relative whole numbers as written (v1alpha1 quantities in their smallest whole proportion),
 * `weight: 0` written out.
 * v1alpha2 has no matches, so a split with matches is refused.
 */
export const osmWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split } = input;
    if (input.matches) {
      return {
        ok: false,
        error: `OSM reads ${kindText(PRODUCES)}, which has no matches: remove spec.matches, or translate for a mesh with matched routes`,
      };
    }
    const warnings: string[] = [];
    const raw = split.backends.map((b) => b.weight);
    // v1alpha1 quantities were read in milli units; write the smallest whole numbers in proportion.
    let weights = split.source.version === 'v1alpha1' ? reduce(raw) : raw;
    if (weights.some((w) => w > MAX_WEIGHT)) {
      weights = apportion(weights, FALLBACK_TOTAL);
      warnings.push(`weights too large for OSM were scaled to a total of ${FALLBACK_TOTAL}`);
    }
    const object: KubeObject = {
      apiVersion: apiVersionOf(PRODUCES),
      kind: PRODUCES.kind,
      metadata: metadata(split.source.name, input),
      spec: {
        service: split.rootService,
        backends: split.backends.map((b, i) => ({
          service: b.service ?? b.name,
          weight: Number(weights[i] ?? 0n),
        })),
      },
    };
    return { ok: true, objects: [object], warnings };
  },
};

/** Divides out the common factor, so `500m`/`1` (500, 1000) is written as 1 and 2. */
function reduce(weights: readonly bigint[]): bigint[] {
  let g = 0n;
  for (const w of weights) {
    let [a, b] = [g, w];
    while (b !== 0n) [a, b] = [b, a % b];
    g = a;
  }
  return g <= 1n ? [...weights] : weights.map((w) => w / g);
}
