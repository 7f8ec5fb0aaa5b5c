import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request, type AgentOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { generateCertificates, type CertificateBundle } from '../../src/pki/issue.js';
import { writeCertificates, type CertificatePaths } from '../../src/pki/files.js';
import { startWebhook, type RunningWebhook, type ServeOptions } from '../../src/app/serve.js';

export interface TestWebhook {
  readonly webhook: RunningWebhook;
  readonly port: number;
  readonly dir: string;
  readonly bundle: CertificateBundle;
  readonly paths: CertificatePaths;
  stop(): Promise<void>;
}

/** meshwarden's real HTTPS server in this process, on a free port, with fresh certificates. */
export async function startTestWebhook(options: Partial<ServeOptions> = {}): Promise<TestWebhook> {
  const dir = await mkdtemp(join(tmpdir(), 'meshwarden-test-'));
  const bundle = await generateCertificates();
  const paths = await writeCertificates(join(dir, 'certs'), bundle);
  const webhook = await startWebhook({
    port: 0,
    host: '127.0.0.1',
    certFile: paths.cert,
    keyFile: paths.key,
    drainSeconds: 0,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  return {
    webhook,
    port: webhook.https.port,
    dir,
    bundle,
    paths,
    async stop() {
      await webhook.shutdown(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PostResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The request went out on a connection an earlier request had used. */
  readonly reusedSocket: boolean;
}

/** A keep-alive agent that trusts `ca` and checks the name the API server uses. */
export function keepAliveAgent(ca: string | string[], options: AgentOptions = {}): Agent {
  return new Agent({
    keepAlive: true,
    maxSockets: 1,
    ca,
    servername: 'meshwarden.meshwarden-system.svc',
    ...options,
  });
}

/** POSTs JSON over HTTPS to 127.0.0.1 and reads the whole answer. */
export function post(
  port: number,
  path: string,
  body: string | Buffer,
  options: { agent?: Agent | false; ca?: string | string[]; contentType?: string } = {},
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        servername: 'meshwarden.meshwarden-system.svc',
        agent: options.agent ?? false,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        headers: {
          'Content-Type': options.contentType ?? 'application/json',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** GET over HTTPS, for probes. */
export function get(
  port: number,
  path: string,
  ca: string | string[],
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'meshwarden.meshwarden-system.svc',
        agent: false,
        ca,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
