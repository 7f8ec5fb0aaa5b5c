/**
 * The protocol a Kubernetes Service port declares, read the way Istio reads it (istio/istio
 * pkg/config/kube/conversion.go `ConvertProtocol`, pkg/config/protocol/instance.go `Parse`):
 * `appProtocol` when set, otherwise the port name's prefix before the first `-`
 * (`http-web` is http, `grpc-web` is checked first since it holds a `-`). Case does not matter.
 * A name Istio does not know is `unknown`: Istio then sniffs the protocol, except on a few
 * well-known ports (25, 53, 3306, 27017), which it takes for TCP. Other meshes follow the same
 * convention closely enough (Consul and App Mesh listener protocols, GRPCRoute) to share it.
 */
export type PortProtocol =
  | 'http'
  | 'http2'
  | 'grpc'
  | 'grpc-web'
  | 'https'
  | 'tls'
  | 'tcp'
  | 'mongo'
  | 'redis'
  | 'mysql'
  | 'unknown';

/** The parts of a Service port the protocol is read from. */
export interface ProtocolSource {
  readonly port: number;
  readonly name?: string;
  readonly appProtocol?: string;
}

const NAMED: Readonly<Record<string, PortProtocol>> = {
  http: 'http',
  http_proxy: 'http',
  http2: 'http2',
  grpc: 'grpc',
  https: 'https',
  tls: 'tls',
  tcp: 'tcp',
  mongo: 'mongo',
  redis: 'redis',
  mysql: 'mysql',
};

/** Kubernetes' own appProtocol names (KEP-3726), which Istio maps before the name prefix. */
const KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, PortProtocol>> = {
  'kubernetes.io/h2c': 'http2',
  'kubernetes.io/ws': 'http',
  'kubernetes.io/wss': 'https',
};

/** Istio takes these for TCP when the name says nothing (SMTP, DNS, MySQL, MongoDB). */
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

export function portProtocol(port: ProtocolSource): PortProtocol {
  const declared = port.appProtocol ?? port.name ?? '';
  const kubernetes =
    port.appProtocol === undefined ? undefined : KUBERNETES_APP_PROTOCOLS[declared];
  if (kubernetes) return kubernetes;
  const lower = declared.toLowerCase();
  if (lower.startsWith('grpc-web')) return 'grpc-web';
  const dash = lower.indexOf('-');
  const prefix = dash >= 0 ? lower.slice(0, dash) : lower;
  const known = NAMED[prefix];
  if (known) return known;
  return WELL_KNOWN_TCP_PORTS.has(port.port) ? 'tcp' : 'unknown';
}

/** Protocols whose requests are HTTP (HTTP/1.1, HTTP/2, gRPC): L7 routes and matches apply. */
export function isHttpProtocol(protocol: PortProtocol): boolean {
  return (
    protocol === 'http' || protocol === 'http2' || protocol === 'grpc' || protocol === 'grpc-web'
  );
}

/** gRPC, which GRPCRoute and Consul's `grpc` protocol describe. */
export function isGrpcProtocol(protocol: PortProtocol): boolean {
  return protocol === 'grpc' || protocol === 'grpc-web';
}
