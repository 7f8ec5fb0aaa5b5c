import { describe, expect, it } from 'vitest';
import { decodeAdmissionReview } from '../../src/admission/decode.js';
import { deployment, makeReview } from '../helpers/reviews.js';

describe('decodeAdmissionReview', () => {
  it('reads a v1 review and normalizes dryRun and userInfo', () => {
    const review = makeReview({ object: deployment('web', { app: 'web' }) });
    const result = decodeAdmissionReview(review);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.review.apiVersion).toBe('admission.k8s.io/v1');
    expect(result.review.request.uid).toBe(review.request.uid);
    expect(result.review.request.dryRun).toBe(false);
    expect(result.review.request.userInfo.username).toBe('jane@example.com');
  });

  it('reads v1beta1', () => {
    const result = decodeAdmissionReview(
      makeReview({ object: deployment('web'), apiVersion: 'admission.k8s.io/v1beta1' }),
    );
    expect(result.ok && result.review.apiVersion).toBe('admission.k8s.io/v1beta1');
  });

  const bad: [string, (r: ReturnType<typeof makeReview>) => unknown, string][] = [
    ['not an object', () => 'x', 'not a JSON object'],
    [
      'wrong apiVersion',
      (r) => ({ ...r, apiVersion: 'admission.k8s.io/v2' }),
      'apiVersion must be one of',
    ],
    ['wrong kind', (r) => ({ ...r, kind: 'Review' }), 'kind must be AdmissionReview'],
    ['no request', (r) => ({ apiVersion: r.apiVersion, kind: r.kind }), 'request is missing'],
    ['empty uid', (r) => ({ ...r, request: { ...r.request, uid: '' } }), 'request.uid is missing'],
    [
      'numeric uid',
      (r) => ({ ...r, request: { ...r.request, uid: 42 } }),
      'request.uid is missing',
    ],
    [
      'kind without strings',
      (r) => ({ ...r, request: { ...r.request, kind: { group: 1 } } }),
      'request.kind',
    ],
    [
      'unknown operation',
      (r) => ({ ...r, request: { ...r.request, operation: 'PATCH' } }),
      'request.operation',
    ],
    [
      'object of wrong type',
      (r) => ({ ...r, request: { ...r.request, object: 'x' } }),
      'request.object must be',
    ],
    [
      'CREATE without object',
      (r) => ({ ...r, request: { ...r.request, object: null } }),
      'required for CREATE',
    ],
    [
      'UPDATE without oldObject',
      (r) => ({ ...r, request: { ...r.request, operation: 'UPDATE', oldObject: null } }),
      'oldObject is required',
    ],
    [
      'dryRun of wrong type',
      (r) => ({ ...r, request: { ...r.request, dryRun: 'yes' } }),
      'dryRun must be a boolean',
    ],
    [
      'namespace of wrong type',
      (r) => ({ ...r, request: { ...r.request, namespace: 3 } }),
      'namespace must be a string',
    ],
  ];
  it.each(bad)('refuses %s', (_name, mangle, message) => {
    const result = decodeAdmissionReview(mangle(makeReview({ object: deployment('web') })));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain(message);
  });

  it('accepts DELETE with a null object', () => {
    const review = makeReview({ object: null, oldObject: deployment('web'), operation: 'DELETE' });
    expect(decodeAdmissionReview(review).ok).toBe(true);
  });
});
