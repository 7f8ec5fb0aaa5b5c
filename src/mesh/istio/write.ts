import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toPercent } from '../../traffic/normalize.js';
import { serviceFqdn } from '../../traffic/service-name.js';
import {
  apiVersionOf,
  metadata,
  roundingWarnings,
  wholePathRegex,
  type Writer,
} from '../../traffic/write-common.js';

const PRODUCES = { group: 'networking.istio.io', version: 'v1', kind: 'VirtualService' } as const;

/**
 * Istio: one VirtualService named after the split, for the root's FQDN, with one destination per
 * backend Service (no subsets, so no DestinationRule is needed) and whole-percent weights summing
 * to 100, which every Istio version accepts. With matches, the weighted route carries them and a
 * second route sends everything else to the root Service.
 */
export const istioWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split, clusterDomain } = input;
    const fqdn = (service: string) => serviceFqdn(service, split.namespace, clusterDomain);
    const normalized = toPercent(split.backends.map((b) => b.weight));
    const route = split.backends.map((b, i) => ({
      destination: { host: fqdn(b.service ?? b.name) },
      weight: normalized.weights[i] ?? 0,
    }));
    const http: Record<string, unknown>[] = [];
    if (input.matches) {
      http.push({ name: 'matched', match: input.matches.map(istioMatch), route });
      http.push({ name: 'fallback', route: [{ destination: { host: fqdn(split.rootService) } }] });
    } else {
      http.push({ name: 'split', route });
    }
    const object: KubeObject = {
      apiVersion: apiVersionOf(PRODUCES),
      kind: PRODUCES.kind,
      metadata: metadata(split.source.name, input),
      spec: { hosts: [fqdn(split.rootService)], http },
    };
    return {
      ok: true,
      objects: [object],
      warnings: roundingWarnings(input, normalized, 'whole percents'),
    };
  },
};

function istioMatch(match: HttpMatch): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: match.name,
    uri:
      match.pathRegex === undefined ? { prefix: '/' } : { regex: wholePathRegex(match.pathRegex) },
  };
  const methods = match.methods ?? [];
  if (methods.length === 1) out.method = { exact: methods[0] };
  else if (methods.length > 1) out.method = { regex: methods.join('|') };
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0) {
    out.headers = Object.fromEntries(headers.map(([name, regex]) => [name, { regex }]));
  }
  return out;
}
