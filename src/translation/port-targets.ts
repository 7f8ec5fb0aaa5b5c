import type { KubeObject } from '../k8s/objects.js';
import type { WeightedSplit } from '../traffic/model.js';
import { portProtocol } from '../traffic/port-protocol.js';
import type { PortTarget, ServicePort, TargetBackend } from '../traffic/write-common.js';
import { asArray, asRecord } from '../util/objects.js';
import { splitApiVersion } from '../util/api-version.js';

/**
 * Per root port, the backends that serve it. SMI: "There must be a match between a port on the
 * root service and a port on every destination backend service. If they do not match, the
 * backend service is not included and will not receive traffic" (smi-spec traffic-split.md).
 * A backend's port is the one of its Service with the root port's name, else its number. A
 * backend whose Service is not known keeps the root's port when the input may be partial
 * (offline); in a cluster (`complete`) a missing Service is left out like a missing port.
 */
export function portTargets(
  split: WeightedSplit,
  rootPorts: readonly ServicePort[] | undefined,
  services: readonly KubeObject[],
  complete: boolean,
):
  | {
      ok: true;
      targets: PortTarget[] | undefined;
      /** Backends to keep for targets without ports: those that serve every root port. */
      kept: WeightedSplit['backends'];
      warnings: string[];
    }
  | { ok: false; error: string } {
  if (rootPorts === undefined || rootPorts.length === 0)
    return { ok: true, targets: undefined, kept: split.backends, warnings: [] };
  const warnings: string[] = [];
  const missing = new Set<string>();
  const targets: PortTarget[] = [];
  for (const root of rootPorts) {
    const backends: TargetBackend[] = [];
    for (const backend of split.backends) {
      const name = backend.service ?? backend.name;
      const service = findService(services, name, split.namespace);
      if (!service) {
        if (complete) {
          if (!missing.has(name))
            warnings.push(
              `backend ${name} is left out: Service ${split.namespace}/${name} does not exist`,
            );
          missing.add(name);
        } else backends.push({ backend, port: root });
        continue;
      }
      const port = matchingPort(serviceTcpPorts(service), root);
      if (port) {
        backends.push({ backend, port, service });
        continue;
      }
      missing.add(name);
      warnings.push(
        `backend ${name} is left out of port ${portText(root)}: its Service exposes no port named ${root.name ?? '(unnamed)'} or numbered ${root.port}, so it would get no traffic`,
      );
    }
    if (!backends.some((b) => b.backend.weight > 0n)) {
      return {
        ok: false,
        error: `no backend with a weight above 0 exposes port ${portText(root)} of root Service ${split.rootService}: ${warnings.join('; ')}`,
      };
    }
    targets.push({ root, protocol: portProtocol(root), backends });
  }
  const kept = split.backends.filter((b) => !missing.has(b.service ?? b.name));
  return { ok: true, targets, kept, warnings };
}

function portText(port: ServicePort): string {
  return port.name === undefined ? String(port.port) : `${port.port} (${port.name})`;
}

function findService(
  services: readonly KubeObject[],
  name: string,
  namespace: string,
): KubeObject | undefined {
  return services.find(
    (s) =>
      s.kind === 'Service' &&
      splitApiVersion(typeof s.apiVersion === 'string' ? s.apiVersion : '').group === '' &&
      s.metadata?.name === name &&
      (s.metadata.namespace ?? namespace) === namespace,
  );
}

/** The root port's counterpart: same name first, then same number. */
function matchingPort(ports: readonly ServicePort[], root: ServicePort): ServicePort | undefined {
  if (root.name !== undefined) {
    const named = ports.find((p) => p.name === root.name);
    if (named) return named;
  }
  return ports.find((p) => p.port === root.port);
}

/** The TCP ports of a Service (UDP and SCTP carry no routes meshwarden writes), once each. */
export function serviceTcpPorts(service: KubeObject): ServicePort[] {
  const ports: ServicePort[] = [];
  for (const item of asArray(asRecord(service.spec)?.ports) ?? []) {
    const p = asRecord(item);
    const protocol = p?.protocol ?? 'TCP';
    if (!p || typeof p.port !== 'number' || protocol !== 'TCP') continue;
    if (ports.some((q) => q.port === p.port)) continue;
    ports.push({
      port: p.port,
      ...(typeof p.name === 'string' && p.name !== '' ? { name: p.name } : {}),
      ...(typeof p.appProtocol === 'string' && p.appProtocol !== ''
        ? { appProtocol: p.appProtocol }
        : {}),
      ...(typeof p.targetPort === 'number' || typeof p.targetPort === 'string'
        ? { targetPort: p.targetPort }
        : {}),
    });
  }
  return ports;
}
