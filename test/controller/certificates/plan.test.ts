import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CERTIFICATE_TIMING,
  parseSecret,
  planCertificates,
  splitPem,
} from '../../../src/controller/certificates/plan.js';
import type { KubeObject } from '../../../src/k8s/objects.js';
import { CA_ROTATED_AT_ANNOTATION } from '../../../src/k8s/keys.js';
import { generateCa, issueLeaf, type CertificateAuthority } from '../../../src/pki/issue.js';

const DAY = 86_400_000;
const NOW = new Date('2030-01-01T00:00:00Z');
const HOST = 'meshwarden.meshwarden-system.svc';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const secret = (
  cas: readonly CertificateAuthority[],
  leaf?: { cert: string; key: string },
  rotatedAt?: Date,
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  metadata: {
    name: 'meshwarden-tls',
    namespace: 'meshwarden-system',
    ...(rotatedAt ? { annotations: { [CA_ROTATED_AT_ANNOTATION]: rotatedAt.toISOString() } } : {}),
  },
  data: {
    'ca.crt': b64(cas.map((c) => c.cert).join('')),
    ...(cas[0] ? { 'ca.key': b64(cas[0].key) } : {}),
    ...(leaf ? { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key) } : {}),
  },
});

const plan = (s: KubeObject | undefined, bundlePublished = true, now = NOW) =>
  planCertificates(parseSecret(s), now, {
    timing: DEFAULT_CERTIFICATE_TIMING,
    hostname: HOST,
    bundlePublished,
  });

describe('planCertificates', () => {
  let oldCa: CertificateAuthority;
  let newCa: CertificateAuthority;
  let oldLeaf: { cert: string; key: string };
  let newLeaf: { cert: string; key: string };

  beforeAll(async () => {
    oldCa = await generateCa({ days: 3650, now: NOW });
    newCa = await generateCa({ days: 3650, now: NOW });
    oldLeaf = await issueLeaf(oldCa, { days: 365, now: NOW });
    newLeaf = await issueLeaf(newCa, { days: 365, now: NOW });
  });

  it('creates a CA when the Secret is missing or holds no CA key', () => {
    expect(plan(undefined)).toMatchObject({ action: 'create-ca' });
    expect(plan(secret([], oldLeaf))).toMatchObject({ action: 'create-ca' });
  });

  it('issues a serving certificate when there is none, or it is for another host', async () => {
    expect(plan(secret([oldCa]))).toMatchObject({ action: 'issue-leaf' });
    const other = await issueLeaf(oldCa, { service: 'other', days: 365, now: NOW });
    expect(plan(secret([oldCa], other))).toMatchObject({ action: 'issue-leaf' });
  });

  it('does nothing for a fresh CA and serving certificate', () => {
    expect(plan(secret([oldCa], oldLeaf))).toEqual({ action: 'none' });
  });

  it('renews the serving certificate once two thirds of its life have passed', () => {
    const later = new Date(NOW.getTime() + 250 * DAY);
    expect(plan(secret([oldCa], oldLeaf), true, later)).toMatchObject({ action: 'issue-leaf' });
  });

  it('waits with a leaf from the new CA until the caBundle carries it and the grace has passed', () => {
    const rotating = secret([newCa, oldCa], oldLeaf, NOW);
    expect(plan(rotating, false)).toMatchObject({ action: 'wait' });
    expect(plan(rotating, true)).toMatchObject({ action: 'wait' });
    const afterGrace = new Date(NOW.getTime() + DEFAULT_CERTIFICATE_TIMING.caBundleGraceMs);
    expect(plan(rotating, true, afterGrace)).toMatchObject({ action: 'issue-leaf' });
  });

  it('drops old CAs only after probing replicas, unless they expired', async () => {
    expect(plan(secret([newCa, oldCa], newLeaf, NOW))).toMatchObject({
      action: 'drop-old-cas',
      probe: true,
    });
    const expired = await generateCa({ days: 1, now: new Date(NOW.getTime() - 2 * DAY) });
    expect(plan(secret([newCa, expired], newLeaf, NOW))).toMatchObject({
      action: 'drop-old-cas',
      probe: false,
    });
  });
});

describe('parseSecret', () => {
  it('finds the CA whose key is ca.key, and ignores an unparsable serving certificate', async () => {
    const a = await generateCa({ days: 30, now: NOW });
    const b = await generateCa({ days: 30, now: NOW });
    const s = secret([b, a]);
    const data = s.data as Record<string, string>;
    data['ca.key'] = b64(a.key);
    data['tls.crt'] = b64('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----');
    const state = parseSecret(s);
    expect(state.bundle).toHaveLength(2);
    expect(state.currentCa?.fingerprint256).toBe(splitPem(a.cert)[0]?.fingerprint256);
    expect(state.leaf).toBeUndefined();
    expect(state.rotatedAt).toBeUndefined();
  });
});
