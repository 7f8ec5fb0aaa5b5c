import type * as Selfsigned from 'selfsigned';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';

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

export interface CertificatePaths {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export function certificatePaths(dir: string): CertificatePaths {
  return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') };
}

/** Writes a bundle as tls.crt, tls.key, ca.crt (and ca.key, to sign later leaves) in `dir`. */
export async function writeCertificates(
  dir: string,
  bundle: CertificateBundle,
): Promise<CertificatePaths> {
  await mkdir(dir, { recursive: true });
  const paths = certificatePaths(dir);
  await writeFile(paths.ca, bundle.caCert);
  await writeFile(join(dir, 'ca.key'), bundle.caKey, { mode: 0o600 });
  await writeFile(paths.cert, bundle.cert);
  await writeFile(paths.key, bundle.key, { mode: 0o600 });
  return paths;
}

/** Development mode: generate certificates into `dir` unless a certificate and key are already there. */
export async function ensureDevCertificates(
  dir: string,
): Promise<{ paths: CertificatePaths; generated: boolean }> {
  const paths = certificatePaths(dir);
  const present = await Promise.all(
    [paths.cert, paths.key].map((p) =>
      access(p).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (present.every(Boolean)) return { paths, generated: false };
  return { paths: await writeCertificates(dir, await generateCertificates()), generated: true };
}

export interface LoadedKeyPair {
  readonly cert: string;
  readonly key: string;
  readonly notAfter: Date;
  readonly fingerprint: string;
  /** A stand-in generated in memory while the real files are missing. */
  readonly ephemeral?: boolean;
}

/** Reads and checks a certificate and key pair; throws with the file name when unusable. */
export async function loadKeyPair(certFile: string, keyFile: string): Promise<LoadedKeyPair> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return parseKeyPair(cert, key, certFile, keyFile);
}

/** Checks PEM text; `source` names where it came from in errors. */
export function parseKeyPair(
  cert: string,
  key: string,
  source: string,
  keySource = source,
): LoadedKeyPair {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(`${source}: not a PEM certificate (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (!key.includes('PRIVATE KEY')) throw new Error(`${keySource}: not a PEM private key`);
  return { cert, key, notAfter: new Date(x509.validTo), fingerprint: x509.fingerprint256 };
}

/**
 * Loaded on first use: its dependency (node-forge) adds about 16 MB and start-up time to every
 * process, and most processes never generate a certificate.
 */
function loadSelfsigned(): Promise<typeof Selfsigned> {
  return import('selfsigned');
}
