import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  perMethod,
  portsUnknown,
  roundingWarnings,
  wholePathRegex,
  type Writer,
} from '../../traffic/write-common.js';

const PRODUCES = { group: 'appmesh.k8s.aws', version: 'v1beta2', kind: 'VirtualRouter' } as const;
/** App Mesh limits (aws-app-mesh-controller-for-k8s v1.13.3 CRD). */
const MAX_TARGETS = 10;
const MAX_HEADERS = 10;
const MAX_HEADER_NAME = 50;
const MAX_MATCH_TEXT = 255;
const FALLBACK_PRIORITY = 1000;

/**
 * App Mesh: one VirtualRouter named after the split, with an HTTP listener per root port and
 * whole-percent weighted targets. Each backend Service is expected to have a VirtualNode of the
 * same name (and the root one, for the fallback of matched splits). With matches, each match
 * (and method) becomes a prioritised route, and a lowest-priority route sends the rest to the root.
 */
export const appMeshWriter: Writer = {
  produces: PRODUCES,
  write(input) {
    const { split, ports } = input;
    if (!ports || ports.length === 0) return portsUnknown(input, PRODUCES);
    if (split.backends.length > MAX_TARGETS) {
      return {
        ok: false,
        error: `an App Mesh route takes at most ${MAX_TARGETS} weighted targets; this split has ${split.backends.length} backends`,
      };
    }
    const problem = matchProblem(input.matches ?? []);
    if (problem !== undefined) return { ok: false, error: problem };
    const normalized = toPercent(split.backends.map((b) => b.weight));
    const weightedTargets = split.backends.map((b, i) => ({
      virtualNodeRef: { name: b.service ?? b.name },
      weight: normalized.weights[i] ?? 0,
    }));
    const base = split.source.name;
    const routes: Record<string, unknown>[] = [];
    for (const port of ports) {
      const suffix = ports.length > 1 ? `-${port.port}` : '';
      const portMatch = ports.length > 1 ? { port: port.port } : {};
      if (!input.matches) {
        routes.push({
          name: `${base}${suffix}`,
          httpRoute: { match: { prefix: '/', ...portMatch }, action: { weightedTargets } },
        });
        continue;
      }
      perMethod(input.matches).forEach(({ match, method }, i) => {
        routes.push({
          name: `${base}-match-${i}${suffix}`,
          priority: i + 1,
          httpRoute: {
            match: { ...appMeshMatch(match, method), ...portMatch },
            action: { weightedTargets },
          },
        });
      });
      routes.push({
        name: `${base}-fallback${suffix}`,
        priority: FALLBACK_PRIORITY,
        httpRoute: {
          match: { prefix: '/', ...portMatch },
          action: {
            weightedTargets: [{ virtualNodeRef: { name: split.rootService }, weight: 100 }],
          },
        },
      });
    }
    const object: KubeObject = {
      apiVersion: apiVersionOf(PRODUCES),
      kind: PRODUCES.kind,
      metadata: metadata(base, input),
      spec: {
        listeners: ports.map((p) => ({ portMapping: { port: p.port, protocol: 'http' } })),
        routes,
      },
    };
    return {
      ok: true,
      objects: [object],
      warnings: roundingWarnings(input, normalized, 'whole percents'),
    };
  },
};

function appMeshMatch(match: HttpMatch, method: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> =
    match.pathRegex === undefined
      ? { prefix: '/' }
      : { path: { regex: wholePathRegex(match.pathRegex) } };
  const headers = Object.entries(match.headers ?? {});
  if (headers.length > 0)
    out.headers = headers.map(([name, regex]) => ({ name, match: { regex } }));
  if (method !== undefined) out.method = method;
  return out;
}

function matchProblem(matches: readonly HttpMatch[]): string | undefined {
  if (matches.length + 1 > FALLBACK_PRIORITY)
    return `too many matches for App Mesh route priorities`;
  for (const m of matches) {
    const headers = Object.entries(m.headers ?? {});
    if (headers.length > MAX_HEADERS)
      return `match ${m.name} has ${headers.length} headers; an App Mesh route matches at most ${MAX_HEADERS}`;
    for (const [name, regex] of headers) {
      if (name.length > MAX_HEADER_NAME)
        return `header "${name}" is longer than the ${MAX_HEADER_NAME} characters App Mesh allows`;
      if (regex.length > MAX_MATCH_TEXT || regex === '')
        return `the expression for header "${name}" must be 1 to ${MAX_MATCH_TEXT} characters for App Mesh`;
    }
    if (m.pathRegex !== undefined && wholePathRegex(m.pathRegex).length > MAX_MATCH_TEXT)
      return `the path expression of ${m.name} is longer than the ${MAX_MATCH_TEXT} characters App Mesh allows`;
  }
  return undefined;
}
