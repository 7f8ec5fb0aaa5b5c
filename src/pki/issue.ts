import type * as Selfsigned from 'selfsigned';
import { randomBytes, X509Certificate } from 'node:crypto';

export interface CertificateBundle {
  readonly caCert: string;
  readonly caKey: string;
  readonly cert: string;
  readonly key: string;
}

export interface CertificateOptions {
  readonly service?: string;
  readonly namespace?: string;
  /** Lifetime of the serving certificate in days. The CA lives ten times as long. */
  readonly days?: number;
  readonly now?: Date;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** The DNS names the API server may use for the webhook Service, plus loopback for development. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [
    'localhost',
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

export interface CertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

export interface CaOptions {
  readonly service?: string;
  /** Lifetime in days. */
  readonly days: number;
  readonly now?: Date;
}

export interface LeafOptions {
  readonly service?: string;
  readonly namespace?: string;
  /** Lifetime in days; never past the CA's own expiry. */
  readonly days: number;
  readonly now?: Date;
}

/** A CA (ECDSA P-256, SHA-256) for signing serving certificates. NotBefore is backdated an hour. */
export async function generateCa(options: CaOptions): Promise<CertificateAuthority> {
  const service = options.service ?? 'meshwarden';
  const now = options.now ?? new Date();
  const { generate } = await loadSelfsigned();
  const ca = await generate(
    [{ name: 'commonName', value: `${service}-ca-${randomBytes(4).toString('hex')}` }],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - HOUR_MS),
      notAfterDate: new Date(now.getTime() + options.days * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        {
          name: 'keyUsage',
          keyCertSign: true,
          cRLSign: true,
          digitalSignature: true,
          critical: true,
        },
      ],
    },
  );
  return { cert: ca.cert, key: ca.private };
}

/**
 * A serving certificate signed by `ca`. SANs cover the Service names (the API server verifies
 * `<svc>.<ns>.svc`; CN is never used) and loopback. NotBefore is backdated an hour for clock skew
 * between nodes.
 */
export async function issueLeaf(
  ca: CertificateAuthority,
  options: LeafOptions,
): Promise<{ cert: string; key: string }> {
  const service = options.service ?? 'meshwarden';
  const namespace = options.namespace ?? 'meshwarden-system';
  const now = options.now ?? new Date();
  const caExpiry = new Date(new X509Certificate(ca.cert).validTo).getTime();
  const { generate } = await loadSelfsigned();
  const leaf = await generate([{ name: 'commonName', value: `${service}.${namespace}.svc` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - HOUR_MS),
    notAfterDate: new Date(Math.min(now.getTime() + options.days * DAY_MS, caExpiry)),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...serviceDnsNames(service, namespace).map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: leaf.cert, key: leaf.private };
}

/**
 * Generates a CA and a serving certificate signed by it (ECDSA P-256, SHA-256); with `ca`, only
 * the serving certificate is new and the given CA signs it. The CA lives ten times as long as
 * the serving certificate.
 */
export async function generateCertificates(
  options: CertificateOptions & { readonly ca?: CertificateAuthority } = {},
): Promise<CertificateBundle> {
  const days = options.days ?? 365;
  const ca =
    options.ca ??
    (await generateCa({
      days: days * 10,
      ...(options.service ? { service: options.service } : {}),
      ...(options.now ? { now: options.now } : {}),
    }));
  const leaf = await issueLeaf(ca, {
    days,
    ...(options.service ? { service: options.service } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { caCert: ca.cert, caKey: ca.key, cert: leaf.cert, key: leaf.key };
}

/**
 * Loaded on first use: its dependency (node-forge) adds about 16 MB and start-up time to every
 * process, and most processes never generate a certificate.
 */
function loadSelfsigned(): Promise<typeof Selfsigned> {
  return import('selfsigned');
}
