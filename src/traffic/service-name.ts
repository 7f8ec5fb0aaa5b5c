/** Reading Service references written as `name`, `name.ns`, `name.ns.svc` or `name.ns.svc.<domain>`. */

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A Service name: an RFC 1035 label (what the API server accepts for `metadata.name`). */
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export type ServiceReading =
  | { readonly ok: true; readonly name: string; readonly namespace: string | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * Splits a Service reference into its short name and, when written, its namespace. Any cluster
 * domain is accepted after `.svc.` (clusters differ), but nothing else may follow the namespace.
 */
export function parseServiceRef(text: string): ServiceReading {
  // The common case, a short name, without splitting; readings are immutable, so shared.
  if (!text.includes('.')) {
    const known = shortNames.get(text);
    if (known !== undefined) return known;
    const reading = readServiceRef(text);
    if (shortNames.size >= MAX_SHORT_NAMES) shortNames.clear();
    shortNames.set(text, reading);
    return reading;
  }
  return readServiceRef(text);
}

/** Bounded: names come from requests. */
const MAX_SHORT_NAMES = 4096;
const shortNames = new Map<string, ServiceReading>();

function readServiceRef(text: string): ServiceReading {
  const parts = text.split('.');
  const [name = '', namespace, svc] = parts;
  if (!DNS_LABEL.test(name) || name.length > 63) {
    return {
      ok: false,
      reason: `"${text}" is not a Service name (lower-case letters, digits and '-', starting with a letter)`,
    };
  }
  if (parts.length === 1) return { ok: true, name, namespace: undefined };
  if (namespace === undefined || !DNS_LABEL.test(namespace.replace(/^[0-9]/, 'a'))) {
    return { ok: false, reason: `"${text}" does not name a namespace after the Service name` };
  }
  if (parts.length === 2) return { ok: true, name, namespace };
  if (svc !== 'svc' || parts.slice(3).some((p) => p === '')) {
    return {
      ok: false,
      reason: `"${text}" is not a Service name: write name, name.namespace or name.namespace.svc.cluster.local`,
    };
  }
  return { ok: true, name, namespace };
}

/** `name.ns.svc.<domain>`: the host a Service answers on inside the cluster. */
export function serviceFqdn(name: string, namespace: string, clusterDomain: string): string {
  return `${name}.${namespace}.svc.${clusterDomain}`;
}
