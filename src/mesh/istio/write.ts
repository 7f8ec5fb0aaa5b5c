import type { KubeObject } from '../../k8s/objects.js';
import type { HttpMatch } from '../../traffic/model.js';
import { toPercent } from '../../traffic/normalize.js';
import { isHttpProtocol } from '../../traffic/port-protocol.js';
import { serviceFqdn } from '../../traffic/service-name.js';
import {
  chooseVersion,
  metadata,
  roundingWarnings,
  wholePathRegex,
  type PortTarget,
  type TargetBackend,
  type Writer,
  type WriterInput,
} from '../../traffic/write-common.js';
import { serviceTcpPortCount } from './ports.js';

const GROUP = 'networking.istio.io';
const VERSIONS = ['v1', 'v1beta1', 'v1alpha3'] as const;
const PRODUCES = { group: GROUP, version: 'v1', kind: 'VirtualService' } as const;

/**
 * Istio: one VirtualService named after the split, for the root's FQDN, with one destination per
 * backend Service (no subsets, so no DestinationRule is needed) and whole-percent weights summing
 * to 100, which every Istio version accepts. With matches, the weighted route carries them and a
 * second route sends everything else to the root Service.
 *
 * Routes follow each root port's protocol as Istio reads it (appProtocol, else the port-name
 * prefix): HTTP-family ports get `http` routes; TCP, TLS, HTTPS and database ports get `tcp`
 * routes, which Istio applies to opaque and TLS traffic (Flagger's Istio router switches to `tcp`
 * the same way, fluxcd/flagger pkg/router/istio.go). A port Istio does not know is auto-detected
 * by Istio, whose outbound listener then holds both an HTTP and a TCP filter chain
 * (pilot/pkg/networking/core/listener.go, ListenerProtocolAuto): it gets both kinds of route.
 */
export const istioWriter: Writer = {
  produces: PRODUCES,
  versions: { [GROUP]: VERSIONS },
  write(input) {
    const version = chooseVersion(input, GROUP, VERSIONS, PRODUCES.version);
    if (!version.ok) return version;
    const { split } = input;
    const warnings = new Set<string>();
    const http: Record<string, unknown>[] = [];
    const tcp: Record<string, unknown>[] = [];
    const targets = input.targets;
    if (!targets) {
      // The root's ports are unknown: one HTTP route, without ports (Istio picks the only one).
      const backends = split.backends.map((backend) => ({ backend, port: { port: 0 } }));
      http.push(...httpRoutes(input, backends, undefined, warnings));
    } else {
      const multi = targets.length > 1;
      for (const target of targets) {
        const port = multi ? target.root.port : undefined;
        const wantsHttp = isHttpProtocol(target.protocol) || target.protocol === 'unknown';
        const wantsTcp = !isHttpProtocol(target.protocol);
        if (wantsHttp) http.push(...httpRoutes(input, target.backends, target, warnings, port));
        if (wantsTcp && !input.matches) tcp.push(tcpRoute(input, target, warnings, port));
        if (wantsTcp && input.matches && !wantsHttp)
          warnings.add(
            `port ${target.root.port} of ${split.rootService} is ${target.protocol}: no HTTP match applies to it, so its traffic stays with the root Service`,
          );
      }
    }
    if (http.length === 0 && tcp.length === 0)
      return {
        ok: false,
        error: `no port of root Service ${split.rootService} carries HTTP, so spec.matches can select nothing: remove spec.matches, or give the root an HTTP port`,
      };
    const object: KubeObject = {
      apiVersion: `${GROUP}/${version.version}`,
      kind: PRODUCES.kind,
      metadata: metadata(split.source.name, input),
      spec: {
        hosts: [fqdn(input, split.rootService)],
        ...(http.length > 0 ? { http } : {}),
        ...(tcp.length > 0 ? { tcp } : {}),
      },
    };
    return { ok: true, objects: [object], warnings: [...warnings] };
  },
};

function fqdn(input: WriterInput, service: string): string {
  return serviceFqdn(service, input.split.namespace, input.clusterDomain);
}

/** Weighted destinations, with the backend's own port when Istio cannot pick it alone. */
function destinations(
  input: WriterInput,
  backends: readonly TargetBackend[],
  multiPort: boolean,
  warnings: Set<string>,
  dropZero: boolean,
): Record<string, unknown>[] {
  const normalized = toPercent(backends.map((b) => b.backend.weight));
  for (const w of roundingWarnings(
    { split: { backends: backends.map((b) => b.backend) } },
    normalized,
    'whole percents',
  ))
    warnings.add(w);
  const out = backends.map((b, i) => {
    const needsPort = b.port.port > 0 && (multiPort || serviceTcpPortCount(b.service) > 1);
    return {
      destination: {
        host: fqdn(input, b.backend.service ?? b.backend.name),
        ...(needsPort ? { port: { number: b.port.port } } : {}),
      },
      weight: normalized.weights[i] ?? 0,
    };
  });
  // Envoy's TCP proxy refuses a weighted cluster of weight 0 (aws/aws-app-mesh-examples#170).
  return dropZero ? out.filter((d) => d.weight > 0) : out;
}

function httpRoutes(
  input: WriterInput,
  backends: readonly TargetBackend[],
  target: PortTarget | undefined,
  warnings: Set<string>,
  port?: number,
): Record<string, unknown>[] {
  const suffix = port === undefined ? '' : `-${port}`;
  const route = destinations(input, backends, port !== undefined, warnings, false);
  const portMatch = port === undefined ? {} : { port };
  if (!input.matches) {
    return [
      { name: `split${suffix}`, ...(port === undefined ? {} : { match: [portMatch] }), route },
    ];
  }
  const root = {
    host: fqdn(input, input.split.rootService),
    ...(port === undefined || !target ? {} : { port: { number: target.root.port } }),
  };
  return [
    {
      name: `matched${suffix}`,
      match: input.matches.map((m) => ({ ...istioMatch(m), ...portMatch })),
      route,
    },
    {
      name: `fallback${suffix}`,
      ...(port === undefined ? {} : { match: [portMatch] }),
      route: [{ destination: root }],
    },
  ];
}

function tcpRoute(
  input: WriterInput,
  target: PortTarget,
  warnings: Set<string>,
  port?: number,
): Record<string, unknown> {
  return {
    ...(port === undefined ? {} : { match: [{ port }] }),
    route: destinations(input, target.backends, port !== undefined, warnings, true),
  };
}

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
