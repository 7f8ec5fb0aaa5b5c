import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubeClient, loadKubeConfig } from '../../../src/controller/kube-client.js';
import { probeServiceEndpoints } from '../../../src/controller/certificates/probe.js';
import { generateCertificates } from '../../../src/pki/issue.js';
import { FakeApiServer } from '../../helpers/fake-api-server.js';

const NS = 'meshwarden-system';

describe('probeServiceEndpoints', () => {
  let fake: FakeApiServer;
  const servers: Server[] = [];

  const serve = async (cert: string, key: string): Promise<number> => {
    const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return (server.address() as AddressInfo).port;
  };

  beforeEach(async () => {
    fake = await FakeApiServer.start();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) s.close();
    await fake.close();
  });

  it('handshakes with every ready endpoint and compares the certificate presented', async () => {
    const client = createKubeClient(
      await loadKubeConfig({ kubeconfig: await fake.writeKubeconfig() }),
    );
    const current = await generateCertificates({ service: 'meshwarden', namespace: NS });
    const old = await generateCertificates({ service: 'meshwarden', namespace: NS });
    const fingerprint = new X509Certificate(current.cert).fingerprint256;
    const portA = await serve(current.cert, current.key);
    const portB = await serve(old.cert, old.key);
    const slice = (name: string, port: number, ready = true) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': 'meshwarden' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    });
    expect(await probeServiceEndpoints(client, NS, 'meshwarden', fingerprint)).toEqual({
      ok: false,
      detail: 'no ready endpoints for Service meshwarden',
    });
    fake.upsert(slice('meshwarden-a', portA));
    expect((await probeServiceEndpoints(client, NS, 'meshwarden', fingerprint)).ok).toBe(true);
    fake.upsert(slice('meshwarden-b', portB));
    const stale = await probeServiceEndpoints(client, NS, 'meshwarden', fingerprint);
    expect(stale).toEqual({
      ok: false,
      detail: `127.0.0.1:${portB} not yet serving the new certificate`,
    });
    // A pod that is not ready gets no traffic from the API server: it does not hold the CA back.
    fake.upsert(slice('meshwarden-b', portB, false));
    expect((await probeServiceEndpoints(client, NS, 'meshwarden', fingerprint)).ok).toBe(true);
  });
});
