import { connect } from 'node:tls';
import { asArray, asRecord } from '../../util/objects.js';
import type { KubeClient } from '../kube-client.js';

/** Does every replica behind the Service serve the certificate with this fingerprint? */
export type ReplicaProbe = (fingerprint256: string) => Promise<{ ok: boolean; detail: string }>;

/**
 * Probes every ready endpoint of the Service (EndpointSlices labelled
 * `kubernetes.io/service-name`) with a TLS handshake and compares the certificate presented.
 */
export async function probeServiceEndpoints(
  client: KubeClient,
  namespace: string,
  service: string,
  fingerprint256: string,
): Promise<{ ok: boolean; detail: string }> {
  const slices = await client.list(
    `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`,
    { labelSelector: `kubernetes.io/service-name=${service}` },
  );
  const targets: { host: string; port: number }[] = [];
  for (const slice of slices.items) {
    const ports = (asArray(slice.ports) ?? [])
      .map((p) => asRecord(p)?.port)
      .filter((p): p is number => typeof p === 'number');
    for (const endpoint of asArray(slice.endpoints) ?? []) {
      const e = asRecord(endpoint);
      if (asRecord(e?.conditions)?.ready === false) continue;
      for (const address of asArray(e?.addresses) ?? [])
        if (typeof address === 'string')
          for (const port of ports) targets.push({ host: address, port });
    }
  }
  if (targets.length === 0)
    return { ok: false, detail: `no ready endpoints for Service ${service}` };
  const servername = `${service}.${namespace}.svc`;
  const seen = await Promise.all(
    targets.map((t) => presentedFingerprint(t.host, t.port, servername)),
  );
  const stale = targets.filter((_, i) => seen[i] !== fingerprint256);
  return stale.length === 0
    ? { ok: true, detail: `${targets.length} endpoint(s) serve the new certificate` }
    : {
        ok: false,
        detail: `${stale.map((t) => `${t.host}:${t.port}`).join(', ')} not yet serving the new certificate`,
      };
}

function presentedFingerprint(
  host: string,
  port: number,
  servername: string,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(
      { host, port, servername, rejectUnauthorized: false, timeout: 3000 },
      () => {
        const fp = socket.getPeerX509Certificate()?.fingerprint256;
        socket.end();
        resolve(fp);
      },
    );
    socket.on('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', () => resolve(undefined));
  });
}
