import type { KubeObject } from '../../k8s/objects.js';
import { isHttpProtocol, type PortProtocol } from '../../traffic/port-protocol.js';
import { serviceFqdn } from '../../traffic/service-name.js';
import {
  existingObject,
  prerequisiteMetadata,
  serviceNamed,
  serviceSelector,
  type WriterInput,
} from '../../traffic/write-common.js';
import { splitApiVersion } from '../../util/api-version.js';
import { asRecord } from '../../util/objects.js';

export const APPMESH_GROUP = 'appmesh.k8s.aws';
export const VIRTUAL_NODE = { group: APPMESH_GROUP, version: 'v1beta2', kind: 'VirtualNode' };
export const APPMESH_VIRTUAL_SERVICE = {
  group: APPMESH_GROUP,
  version: 'v1beta2',
  kind: 'VirtualService',
};

/**
 * An App Mesh listener protocol for a Service port's protocol. gRPC is carried as `http2`: gRPC
 * calls are HTTP/2 requests to `/<service>/<method>`, so an `http2Route` with prefix `/` (and
 * the SMI path expressions) applies to them, where a `grpcRoute` could not take path matches.
 */
export function listenerProtocol(protocol: PortProtocol): 'http' | 'http2' | 'tcp' {
  if (protocol === 'http2' || protocol === 'grpc' || protocol === 'grpc-web') return 'http2';
  if (isHttpProtocol(protocol) || protocol === 'unknown') return 'http';
  return 'tcp';
}

/** A listener port of a VirtualNode: the container port behind the Service port, when numeric. */
export interface NodePort {
  readonly port: number;
  readonly targetPort?: number | string;
  readonly protocol: PortProtocol;
}

/**
 * The VirtualNode for the pods of one Service: the user's own when one exists (by name, or by a
 * podSelector equal to the Service's selector), else one written like Flagger's
 * (fluxcd/flagger pkg/router/appmesh_v1beta2.go `reconcileVirtualNode`: podSelector, a listener
 * on the container port, DNS service discovery on the Service's FQDN with a trailing dot).
 * Without the Service's selector none can be written; the route then names the Service.
 */
export function virtualNodeFor(
  input: WriterInput,
  service: string,
  ports: readonly NodePort[],
): { name: string; object?: KubeObject; warning?: string } {
  const selector = serviceSelector(serviceNamed(input, service));
  const own =
    existingObject(input, APPMESH_GROUP, VIRTUAL_NODE.kind, service) ??
    (selector ? nodeSelecting(input, selector) : undefined);
  if (own) return { name: own.metadata?.name ?? service };
  if (!selector)
    return {
      name: service,
      warning: `no VirtualNode for Service ${service} was found and its selector is not known, so none is written: the route names VirtualNode ${service}, which must exist`,
    };
  const object: KubeObject = {
    apiVersion: `${APPMESH_GROUP}/${VIRTUAL_NODE.version}`,
    kind: VIRTUAL_NODE.kind,
    metadata: prerequisiteMetadata(service, input),
    spec: {
      podSelector: { matchLabels: selector },
      listeners: ports.map((p) => ({
        portMapping: {
          port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
          protocol: listenerProtocol(p.protocol),
        },
      })),
      serviceDiscovery: {
        dns: {
          hostname: `${serviceFqdn(service, input.split.namespace, input.clusterDomain)}.`,
        },
      },
    },
  };
  const named = ports.filter((p) => typeof p.targetPort === 'string');
  return {
    name: service,
    object,
    ...(named.length > 0
      ? {
          warning: `VirtualNode ${service} listens on ${named.map((p) => p.port).join(', ')}, the Service's port: its targetPort ${named.map((p) => `"${String(p.targetPort)}"`).join(', ')} names a container port whose number is not known here, and App Mesh listeners take the container port (as Flagger writes them)`,
        }
      : {}),
  };
}

function nodeSelecting(
  input: WriterInput,
  selector: Record<string, string>,
): KubeObject | undefined {
  const uid = input.split.source.uid;
  return input.context.existing.find((o) => {
    if (o.kind !== VIRTUAL_NODE.kind) return false;
    if (splitApiVersion(String(o.apiVersion ?? '')).group !== APPMESH_GROUP) return false;
    if ((o.metadata?.namespace ?? input.split.namespace) !== input.split.namespace) return false;
    if (uid !== undefined && (o.metadata?.ownerReferences ?? []).some((r) => r.uid === uid))
      return false;
    const labels = asRecord(asRecord(asRecord(o.spec)?.podSelector)?.matchLabels);
    if (!labels) return false;
    const keys = Object.keys(labels);
    return (
      keys.length === Object.keys(selector).length && keys.every((k) => labels[k] === selector[k])
    );
  });
}

/**
 * May the root Service's pods include this backend's? True unless some label both select has
 * different values (then no pod can carry both). Unknown selectors count as overlapping.
 */
export function mayOverlap(
  root: Record<string, string> | undefined,
  backend: Record<string, string> | undefined,
): boolean {
  if (!root || !backend) return true;
  return Object.entries(root).every(([k, v]) => backend[k] === undefined || backend[k] === v);
}

/**
 * The App Mesh VirtualService clients call for the root: the provider that makes the router
 * carry traffic (a VirtualRouter alone carries none). Written where the cluster has none, like
 * Flagger's (`reconcileVirtualRouter`), with the awsName clients resolve (the root's FQDN, as
 * aws-app-mesh-examples write it). The user's own is never changed; when it names another
 * provider a warning says how to point it at the router.
 */
export function rootVirtualService(
  input: WriterInput,
  router: string,
): { object?: KubeObject; warning?: string } {
  const root = input.split.rootService;
  const own = existingObject(input, APPMESH_GROUP, APPMESH_VIRTUAL_SERVICE.kind, root);
  if (own) {
    const provider = asRecord(asRecord(own.spec)?.provider);
    const named = asRecord(asRecord(provider?.virtualRouter)?.virtualRouterRef)?.name;
    if (named === router) return {};
    return {
      warning: `App Mesh VirtualService ${root} exists with another provider, so this split carries no traffic until its spec.provider is virtualRouter.virtualRouterRef.name: ${router} (meshwarden leaves it unchanged)`,
    };
  }
  const object: KubeObject = {
    apiVersion: `${APPMESH_GROUP}/${APPMESH_VIRTUAL_SERVICE.version}`,
    kind: APPMESH_VIRTUAL_SERVICE.kind,
    metadata: prerequisiteMetadata(root, input),
    spec: {
      awsName: serviceFqdn(root, input.split.namespace, input.clusterDomain),
      provider: { virtualRouter: { virtualRouterRef: { name: router } } },
    },
  };
  return {
    object,
    ...(input.context.complete
      ? {}
      : {
          warning: `App Mesh VirtualService ${root} is included so that VirtualRouter ${router} carries traffic. The cluster was not checked: if it already has a VirtualService ${root}, leave this one out and point yours at the router`,
        }),
  };
}
