import { X509Certificate } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateCertificates, type CertificateBundle } from './issue.js';

/** Certificate and key files on disk: the layout `meshwarden certs` writes and `serve` reads. */

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
