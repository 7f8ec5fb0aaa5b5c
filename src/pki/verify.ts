import { X509Certificate } from 'node:crypto';

/** Splits a PEM bundle into its certificates (unparsable blocks are skipped). */
export function certificatesOf(bundle: string): X509Certificate[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  const out: X509Certificate[] = [];
  for (const block of blocks ?? []) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // A damaged block in a bundle does not make the others unusable.
    }
  }
  return out;
}

/**
 * Why a serving certificate must not be put in use, or undefined when it may: outside its
 * validity window at `now`, or (with `caBundle`) not signed by any CA of the bundle. A pair the
 * API server would refuse at the handshake must never replace one it accepts.
 */
export function servingCertificateProblem(
  certPem: string,
  options: { readonly caBundle?: string; readonly now?: Date } = {},
): string | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (error) {
    return `not a PEM certificate (${(error as Error).message})`;
  }
  const now = (options.now ?? new Date()).getTime();
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  if (now < from.getTime()) return `not valid before ${from.toISOString()}`;
  if (now > to.getTime()) return `expired at ${to.toISOString()}`;
  if (options.caBundle !== undefined) {
    const cas = certificatesOf(options.caBundle);
    if (cas.length === 0) return 'the configured CA bundle holds no certificate';
    const signed = cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    if (!signed)
      return `not signed by the configured CA (issuer "${leaf.issuer.replaceAll('\n', ', ')}")`;
  }
  return undefined;
}
