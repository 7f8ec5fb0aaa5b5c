import type { KubeObject } from '../../k8s/objects.js';
import { isGrpcProtocol } from '../../traffic/port-protocol.js';
import {
  existingObject,
  prerequisiteMetadata,
  type WriterInput,
} from '../../traffic/write-common.js';
import { asRecord } from '../../util/objects.js';

export const CONSUL_GROUP = 'consul.hashicorp.com';
export const SERVICE_DEFAULTS = {
  group: CONSUL_GROUP,
  version: 'v1alpha1',
  kind: 'ServiceDefaults',
};
export const PROXY_DEFAULTS = { group: CONSUL_GROUP, version: 'v1alpha1', kind: 'ProxyDefaults' };

/** Protocols under which Consul's discovery chain allows a splitter. */
const L7 = new Set(['http', 'http2', 'grpc']);

/**
 * The ServiceDefaults a ServiceSplitter needs. Consul's discovery chain compiler refuses a
 * splitter on a service whose protocol is not L7: "discovery chain %q uses a protocol %q that
 * does not permit advanced routing or splitting behavior" (hashicorp/consul
 * agent/consul/discoverychain/compile.go). The protocol comes from the service's
 * ServiceDefaults, else the `global` ProxyDefaults `config.protocol`, else `tcp`; it must be L7
 * for the root and for every split target, as consul-k8s's own fixtures write
 * (acceptance/tests/fixtures/bases/crds-oss/servicesplitter.yaml).
 *
 * The chain's services must also share one protocol ("uses inconsistent protocols").
 *
 * A service that already has ServiceDefaults keeps them: never overwritten; when their protocol
 * is not L7, or the services end up with different protocols, a warning says the splitter will
 * be refused. A missing one is written with the protocol the cluster's own already agree on,
 * else the root port's (`grpc` or `http2` when the port says so, else `http`), marked with the
 * prerequisite annotation; offline, where the cluster was not checked, with a warning too.
 */
export function serviceDefaults(
  input: WriterInput,
): { objects: KubeObject[]; warnings: string[] } | { error: string } {
  const protocol = l7Protocol(input);
  if ('error' in protocol) return protocol;
  // consul-k8s takes ProxyDefaults `global` from whichever namespace holds it.
  const global = existingObject(input, CONSUL_GROUP, PROXY_DEFAULTS.kind, 'global', true);
  const globalProtocol = configuredProtocol(asRecord(asRecord(global?.spec)?.config));
  const names = [
    input.split.rootService,
    ...input.split.backends.map((b) => b.service ?? b.name),
  ].filter((n, i, all) => all.indexOf(n) === i);
  /** Each service's protocol as the cluster already sets it, by name; `missing`: none set. */
  const theirs = new Map<string, string>();
  const missing: string[] = [];
  const notL7: string[] = [];
  for (const name of names) {
    const own = existingObject(input, CONSUL_GROUP, SERVICE_DEFAULTS.kind, name);
    if (own) {
      const set = configuredProtocol(asRecord(own.spec));
      const effective = set ?? globalProtocol ?? 'tcp';
      theirs.set(name, effective);
      if (!L7.has(effective))
        notL7.push(
          `ServiceDefaults ${name} ${set ? `sets protocol ${set}` : 'sets no protocol'}${set ? '' : ` and ProxyDefaults global ${globalProtocol ? `sets ${globalProtocol}` : 'sets none (Consul then uses tcp)'}`}`,
        );
      continue;
    }
    if (globalProtocol !== undefined && L7.has(globalProtocol)) theirs.set(name, globalProtocol);
    else missing.push(name);
  }
  // The chain takes one protocol (compile.go `recordProtocol`: "uses inconsistent protocols"):
  // the one the cluster already sets, when its L7 settings agree, else the root port's.
  const agreed = [...new Set([...theirs.values()].filter((p) => L7.has(p)))];
  const value = agreed.length === 1 && agreed[0] !== undefined ? agreed[0] : protocol.value;
  const objects: KubeObject[] = missing.map((name) => ({
    apiVersion: `${CONSUL_GROUP}/${SERVICE_DEFAULTS.version}`,
    kind: SERVICE_DEFAULTS.kind,
    metadata: prerequisiteMetadata(name, input),
    spec: { protocol: value },
  }));
  const warnings = notL7.map(
    (what) =>
      `${what}: Consul refuses the ServiceSplitter ("does not permit advanced routing or splitting behavior"); set protocol: ${value} in it (meshwarden leaves it unchanged)`,
  );
  const chain = names.map((name) => [name, theirs.get(name) ?? value] as const);
  if (warnings.length === 0 && new Set(chain.map(([, p]) => p)).size > 1)
    warnings.push(
      `the services of this split do not share one protocol (${chain.map(([n, p]) => `${n}: ${p}`).join(', ')}): Consul refuses the ServiceSplitter ("discovery chain uses inconsistent protocols"); give their ServiceDefaults one protocol (meshwarden leaves them unchanged)`,
    );
  if (objects.length > 0 && !input.context.complete)
    warnings.push(
      `ServiceDefaults with protocol ${value} are included for ${objects.map((o) => o.metadata?.name).join(', ')}: Consul refuses a ServiceSplitter unless the root and every backend have the same L7 protocol. The cluster was not checked: if it already has ServiceDefaults of these names, leave these out, or applying them replaces yours`,
    );
  return { objects, warnings };
}

function configuredProtocol(spec: Record<string, unknown> | undefined): string | undefined {
  const value = spec?.protocol;
  return typeof value === 'string' && value !== '' ? value.toLowerCase() : undefined;
}

/** The L7 protocol the root's ports declare; an error when every known port is plain TCP. */
function l7Protocol(input: WriterInput): { value: string } | { error: string } {
  const targets = input.targets ?? [];
  if (targets.length === 0) return { value: 'http' };
  const grpc = targets.find((t) => isGrpcProtocol(t.protocol));
  if (grpc) return { value: 'grpc' };
  if (targets.some((t) => t.protocol === 'http2')) return { value: 'http2' };
  if (targets.some((t) => t.protocol === 'http' || t.protocol === 'unknown'))
    return { value: 'http' };
  return {
    error: `root Service ${input.split.rootService} declares only ${[...new Set(targets.map((t) => t.protocol))].join(', ')} ports: Consul splits only services with an L7 protocol (http, http2, grpc); name the port http-... or set its appProtocol`,
  };
}
