import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { apportion, toPercent } from '../../traffic/normalize.js';
import {
  apiVersionOf,
  metadata,
  perMethod,
  portsUnknown,
  roundingWarnings,
  serviceNamed,
  serviceSelector,
  wholePathRegex,
  type PortTarget,
  type Writer,
  type WriterInput,
} from '../../traffic/write-common.js';
import {
  APPMESH_GROUP,
  APPMESH_VIRTUAL_SERVICE,
  VIRTUAL_NODE,
  listenerProtocol,
  mayOverlap,
  rootVirtualService,
  virtualNodeFor,
  type NodePort,
} from './nodes.js';

const PRODUCES = { group: APPMESH_GROUP, version: 'v1beta2', kind: 'VirtualRouter' } as const;
/** App Mesh limits (aws-app-mesh-controller-for-k8s v1.13.3 CRD). */
const MAX_TARGETS = 10;
const MAX_HEADERS = 10;
const MAX_HEADER_NAME = 50;
const MAX_MATCH_TEXT = 255;
const FALLBACK_PRIORITY = 1000;

/**
 * App Mesh, in Flagger's layout (fluxcd/flagger pkg/router/appmesh_v1beta2.go): a VirtualRouter
 * named after the split with a listener per root port and whole-percent weighted targets, the
 * App Mesh VirtualService of the root naming the router as its provider (without it the router
 * carries nothing), and a VirtualNode per backend where none exists (nodes.ts). With matches,
 * each match (and method) becomes a prioritised route and a lowest-priority route sends the rest
 * to the root's pods. A pod may belong to one VirtualNode only (the controller refuses others
 * with "found multiple matching VirtualNodes for pod"), so when the root selects the backends'
 * pods the fallback goes to the backends' own nodes, never to a node of its own.
 */
export const appMeshWriter: Writer = {
  produces: PRODUCES,
  alsoProduces: [VIRTUAL_NODE, APPMESH_VIRTUAL_SERVICE],
  consults: [
    { ...VIRTUAL_NODE, resource: 'virtualnodes' },
    { ...APPMESH_VIRTUAL_SERVICE, resource: 'virtualservices' },
  ],
  write(input) {
    const { split, targets } = input;
    if (!targets || targets.length === 0) return portsUnknown(input, PRODUCES);
    if (split.backends.length > MAX_TARGETS) {
      return {
        ok: false,
        error: `an App Mesh route takes at most ${MAX_TARGETS} weighted targets; this split has ${split.backends.length} backends`,
      };
    }
    const problem = matchProblem(input.matches ?? []);
    if (problem !== undefined) return { ok: false, error: problem };
    const warnings = new Set<string>();
    const nodes = new Map<string, { name: string; object?: KubeObject }>();
    const node = (service: string): string => {
      const known = nodes.get(service);
      if (known) return known.name;
      const found = virtualNodeFor(input, service, nodePorts(targets, service));
      if (found.warning !== undefined) warnings.add(found.warning);
      nodes.set(service, found);
      return found.name;
    };
    const fallback = input.matches ? fallbackNodes(input, node) : undefined;
    if (fallback && 'error' in fallback) return { ok: false, error: fallback.error };
    if (fallback?.warning) warnings.add(fallback.warning);
    const base = split.source.name;
    const multi = targets.length > 1;
    const routes: Record<string, unknown>[] = [];
    for (const target of targets) {
      const suffix = multi ? `-${target.root.port}` : '';
      const portMatch = multi ? { port: target.root.port } : {};
      const kind = routeKind(target);
      const weighted = weightedTargets(target, node, multi, kind === 'tcpRoute', warnings);
      const toFallback = fallback?.targets.map((t) => ({
        ...t,
        ...(multi ? { port: target.root.port } : {}),
      }));
      if (kind === 'tcpRoute') {
        routes.push({
          name: `${base}${suffix}`,
          tcpRoute: {
            ...(multi ? { match: portMatch } : {}),
            action: { weightedTargets: toFallback ?? weighted },
          },
        });
        continue;
      }
      if (!input.matches) {
        routes.push({
          name: `${base}${suffix}`,
          [kind]: { match: { prefix: '/', ...portMatch }, action: { weightedTargets: weighted } },
        });
        continue;
      }
      perMethod(input.matches).forEach(({ match, method }, i) => {
        routes.push({
          name: `${base}-match-${i}${suffix}`,
          priority: i + 1,
          [kind]: {
            match: { ...appMeshMatch(match, method), ...portMatch },
            action: { weightedTargets: weighted },
          },
        });
      });
      routes.push({
        name: `${base}-fallback${suffix}`,
        priority: FALLBACK_PRIORITY,
        [kind]: { match: { prefix: '/', ...portMatch }, action: { weightedTargets: toFallback } },
      });
    }
    const router: KubeObject = {
      apiVersion: apiVersionOf(PRODUCES),
      kind: PRODUCES.kind,
      metadata: metadata(base, input),
      spec: {
        listeners: targets.map((t) => ({
          portMapping: { port: t.root.port, protocol: listenerProtocol(t.protocol) },
        })),
        routes,
      },
    };
    const service = rootVirtualService(input, base);
    if (service.warning) warnings.add(service.warning);
    const written = [...nodes.values()].flatMap((n) => (n.object ? [n.object] : []));
    if (written.length > 0 && !input.context.complete)
      warnings.add(
        `VirtualNodes ${written.map((o) => o.metadata?.name).join(', ')} are included for the split's Services. The cluster was not checked: if it already has VirtualNodes for these pods, leave these out (a pod may have one VirtualNode only)`,
      );
    return {
      ok: true,
      objects: [router, ...(service.object ? [service.object] : []), ...written],
      warnings: [...warnings],
    };
  },
};

function routeKind(target: PortTarget): 'httpRoute' | 'http2Route' | 'tcpRoute' {
  const protocol = listenerProtocol(target.protocol);
  return protocol === 'tcp' ? 'tcpRoute' : protocol === 'http2' ? 'http2Route' : 'httpRoute';
}

/** The listener ports a Service's VirtualNode needs: its own port for each root port it serves. */
function nodePorts(targets: readonly PortTarget[], service: string): NodePort[] {
  return targets.flatMap((t) =>
    t.backends
      .filter((b) => (b.backend.service ?? b.backend.name) === service)
      .map((b) => ({
        port: b.port.port,
        protocol: t.protocol,
        ...(b.port.targetPort === undefined ? {} : { targetPort: b.port.targetPort }),
      })),
  );
}

function weightedTargets(
  target: PortTarget,
  node: (service: string) => string,
  multi: boolean,
  tcp: boolean,
  warnings: Set<string>,
): Record<string, unknown>[] {
  const normalized = toPercent(target.backends.map((b) => b.backend.weight));
  for (const w of roundingWarnings(
    { split: { backends: target.backends.map((b) => b.backend) } },
    normalized,
    'whole percents',
  ))
    warnings.add(w);
  const out = target.backends.map((b, i) => ({
    virtualNodeRef: { name: node(b.backend.service ?? b.backend.name) },
    weight: normalized.weights[i] ?? 0,
    ...(multi ? { port: numericTarget(b.port.targetPort) ?? b.port.port } : {}),
  }));
  // Envoy refuses a TCP weighted cluster of weight 0 (aws/aws-app-mesh-examples#170).
  return tcp ? out.filter((t) => t.weight > 0) : out;
}

function numericTarget(port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : undefined;
}

/**
 * Where requests no match selects go: the root Service's pods. When the root may select a
 * backend's pods, those backends' nodes take them (evenly: App Mesh routes to nodes, not pods);
 * only a root whose pods are none of the backends' gets a node of its own.
 */
function fallbackNodes(
  input: WriterInput,
  node: (service: string) => string,
): { targets: Record<string, unknown>[]; warning?: string } | { error: string } {
  const { split } = input;
  const rootService = serviceNamed(input, split.rootService);
  const rootSelector = serviceSelector(rootService);
  if (!rootSelector)
    return {
      error: `App Mesh needs root Service ${split.rootService} and its selector to route requests that no match selects: a VirtualNode of its own could select the backends' pods, which the App Mesh controller refuses ("found multiple matching VirtualNodes for pod"). Give the root and backend Service manifests`,
    };
  const services = [...new Set(split.backends.map((b) => b.service ?? b.name))];
  const shared = services.filter((s) =>
    mayOverlap(rootSelector, serviceSelector(serviceNamed(input, s))),
  );
  if (shared.length === 0) {
    return { targets: [{ virtualNodeRef: { name: node(split.rootService) }, weight: 100 }] };
  }
  const weights = apportion(
    shared.map(() => 1n),
    100n,
  );
  return {
    targets: shared.map((s, i) => ({
      virtualNodeRef: { name: node(s) },
      weight: Number(weights[i] ?? 0n),
    })),
    ...(shared.length > 1
      ? {
          warning: `requests no match selects go to ${shared.join(', ')} evenly: App Mesh routes to VirtualNodes, and the root Service's pods are theirs (as the root Service, by pod count, they would not be exactly even)`,
        }
      : {}),
  };
}

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
