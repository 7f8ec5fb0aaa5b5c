import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateCa, generateCertificates, issueLeaf } from '../../src/pki/issue.js';

const DAY = 86_400_000;

describe('certificates signed by an existing CA', () => {
  it('issues a serving certificate from a given CA, for the Service names', async () => {
    const ca = await generateCa({ days: 100 });
    const leaf = new X509Certificate(
      (await issueLeaf(ca, { service: 'hook', namespace: 'ops', days: 10 })).cert,
    );
    const caCert = new X509Certificate(ca.cert);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.checkHost('hook.ops.svc')).toBe('hook.ops.svc');
    expect(leaf.ca).toBe(false);
    expect(caCert.ca).toBe(true);
  });

  it('never lets the serving certificate outlive its CA', async () => {
    const now = new Date();
    const ca = await generateCa({ days: 5, now });
    const leaf = new X509Certificate((await issueLeaf(ca, { days: 30, now })).cert);
    expect(Date.parse(leaf.validTo)).toBeLessThanOrEqual(
      Date.parse(new X509Certificate(ca.cert).validTo),
    );
    expect(Date.parse(leaf.validTo)).toBeLessThan(now.getTime() + 6 * DAY);
  });

  it('generateCertificates reuses a CA when given one', async () => {
    const first = await generateCertificates({ days: 10 });
    const second = await generateCertificates({
      days: 10,
      ca: { cert: first.caCert, key: first.caKey },
    });
    expect(second.caCert).toBe(first.caCert);
    expect(second.cert).not.toBe(first.cert);
    expect(new X509Certificate(second.cert).checkIssued(new X509Certificate(first.caCert))).toBe(
      true,
    );
  });
});
