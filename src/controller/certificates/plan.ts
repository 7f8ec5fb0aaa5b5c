import { createPublicKey, X509Certificate } from 'node:crypto';
import { CA_ROTATED_AT_ANNOTATION } from '../../k8s/keys.js';
import type { KubeObject } from '../../k8s/objects.js';
import { asRecord, asString } from '../../util/objects.js';

const DAY_MS = 86_400_000;

export interface CertificateTiming {
  /** Serving certificate lifetime. */
  readonly leafDays: number;
  /** CA lifetime. */
  readonly caDays: number;
  /** A certificate is renewed once this share of its lifetime has passed (cert-manager: 2/3). */
  readonly renewAt: number;
  /** After a new CA enters the caBundle, wait this long before serving a leaf it signed. */
  readonly caBundleGraceMs: number;
  /** How often the leader checks expiry and rotation progress. */
  readonly checkIntervalMs: number;
}

export const DEFAULT_CERTIFICATE_TIMING: CertificateTiming = {
  leafDays: 365,
  caDays: 3650,
  renewAt: 2 / 3,
  caBundleGraceMs: 30_000,
  checkIntervalMs: 60_000,
};

/** What the TLS Secret holds, parsed. */
export interface SecretState {
  /** `ca.crt`: the CA bundle, newest CA first. */
  readonly bundle: readonly X509Certificate[];
  readonly caKey: string | undefined;
  /** The bundle entry whose key is `ca.key`. */
  readonly currentCa: X509Certificate | undefined;
  readonly leaf: X509Certificate | undefined;
  /** `tls.crt` as stored. */
  readonly leafPem: string | undefined;
  readonly leafKey: string | undefined;
  readonly rotatedAt: number | undefined;
}

export type CertificateStep =
  | { readonly action: 'create-ca'; readonly reason: string }
  | { readonly action: 'issue-leaf'; readonly reason: string }
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'drop-old-cas'; readonly probe: boolean; readonly reason: string }
  | { readonly action: 'none' };

/**
 * The next step for the TLS Secret (docs/cluster.md, "Certificates"). A CA rotation happens in
 * three steps so that the API server never meets a certificate it cannot verify:
 * 1. `create-ca`: a new CA is added at the head of `ca.crt` (the old CAs stay) and becomes
 *    `ca.key`; the serving pair is unchanged; the caBundle of both webhook configurations is
 *    updated to the new bundle.
 * 2. `issue-leaf`: once both webhook configurations carry the new CA and the grace period has
 *    passed, a serving certificate signed by the new CA is written; replicas put it in use as
 *    soon as their watch sees it.
 * 3. `drop-old-cas`: once every ready endpoint of the Service serves the new certificate (a TLS
 *    handshake with each), the old CAs leave the bundle. Expired CAs leave without asking.
 */
export function planCertificates(
  state: SecretState,
  now: Date,
  context: {
    readonly timing: CertificateTiming;
    readonly hostname: string;
    /** Both webhook configurations carry `state.currentCa`. */
    readonly bundlePublished: boolean;
  },
): CertificateStep {
  const t = now.getTime();
  const { timing } = context;
  const leafUsable = usableLeaf(state, t, context.hostname);
  const ca = state.currentCa;
  if (!ca) return { action: 'create-ca', reason: 'no CA key in the Secret' };
  if (due(ca, t, timing.renewAt))
    return { action: 'create-ca', reason: `the CA expires ${ca.validTo}` };
  if (Date.parse(ca.validTo) - t < timing.leafDays * DAY_MS * (1 - timing.renewAt))
    return {
      action: 'create-ca',
      reason: 'the CA would expire before the next serving certificate',
    };
  if (!leafUsable) return { action: 'issue-leaf', reason: 'no usable serving certificate' };
  const leaf = state.leaf as X509Certificate;
  if (!signedBy(leaf, ca)) {
    const waited = t - (state.rotatedAt ?? 0);
    if (!context.bundlePublished)
      return { action: 'wait', reason: 'the webhook configurations do not carry the new CA yet' };
    if (waited < timing.caBundleGraceMs)
      return { action: 'wait', reason: 'letting the API servers see the new caBundle' };
    return { action: 'issue-leaf', reason: 'serving certificate from the new CA' };
  }
  if (due(leaf, t, timing.renewAt))
    return { action: 'issue-leaf', reason: `the serving certificate expires ${leaf.validTo}` };
  const others = state.bundle.filter((c) => c.fingerprint256 !== ca.fingerprint256);
  if (others.some((c) => Date.parse(c.validTo) <= t))
    return { action: 'drop-old-cas', probe: false, reason: 'expired CAs in the bundle' };
  if (others.length > 0)
    return { action: 'drop-old-cas', probe: true, reason: 'old CAs in the bundle' };
  return { action: 'none' };
}

export function parseSecret(secret: KubeObject | undefined): SecretState {
  const data = asRecord(secret?.data);
  const bundle = splitPem(decode(data?.['ca.crt']) ?? '');
  const caKey = decode(data?.['ca.key']);
  const currentCa = caKey === undefined ? undefined : bundle.find((c) => keyMatches(c, caKey));
  const leafPem = decode(data?.['tls.crt']);
  let leaf: X509Certificate | undefined;
  try {
    leaf = leafPem === undefined ? undefined : new X509Certificate(leafPem);
  } catch {
    leaf = undefined;
  }
  const rotated = secret?.metadata?.annotations?.[CA_ROTATED_AT_ANNOTATION];
  const rotatedAt = rotated === undefined ? undefined : Date.parse(rotated);
  return {
    bundle,
    caKey,
    currentCa,
    leaf,
    leafPem,
    leafKey: decode(data?.['tls.key']),
    rotatedAt: rotatedAt === undefined || Number.isNaN(rotatedAt) ? undefined : rotatedAt,
  };
}

/** Each certificate of a PEM bundle; unparsable blocks are skipped. */
export function splitPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((b) => {
    try {
      return [new X509Certificate(b)];
    } catch {
      return [];
    }
  });
}

export function usableLeaf(state: SecretState, now: number, hostname: string): boolean {
  const { leaf, leafKey } = state;
  if (!leaf || leafKey === undefined || !keyMatches(leaf, leafKey)) return false;
  if (Date.parse(leaf.validTo) <= now || Date.parse(leaf.validFrom) > now + 3_600_000) return false;
  return leaf.checkHost(hostname) !== undefined;
}

function due(cert: X509Certificate, now: number, renewAt: number): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return now - from >= (to - from) * renewAt;
}

function signedBy(leaf: X509Certificate, ca: X509Certificate): boolean {
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    const spki = (k: ReturnType<typeof createPublicKey>) =>
      k.export({ type: 'spki', format: 'der' });
    return spki(createPublicKey(keyPem)).equals(spki(cert.publicKey));
  } catch {
    return false;
  }
}

export function decode(value: unknown): string | undefined {
  const s = asString(value);
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

export function encode(value: string): string {
  return Buffer.from(value).toString('base64');
}
