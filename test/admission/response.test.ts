import { describe, expect, it } from 'vitest';
import { decodePatch } from '../helpers/contract.js';
import {
  allowed,
  denied,
  errored,
  failureStatus,
  patched,
  reviewOf,
  withAudit,
  withWarnings,
} from '../../src/admission/response.js';

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';

describe('admission response constructors', () => {
  it('allowed carries only the uid and allowed: true', () => {
    expect(allowed(UID)).toEqual({ uid: UID, allowed: true });
  });

  it('denied is 403 Forbidden with the message', () => {
    expect(denied(UID, 'no')).toEqual({
      uid: UID,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no' },
    });
  });

  it('errored keeps the code and reason it is given', () => {
    expect(errored(UID, 500, 'InternalError', 'boom').status).toEqual({
      code: 500,
      reason: 'InternalError',
      message: 'boom',
    });
  });

  it('patched encodes a JSONPatch the API server can decode, and an empty patch is plain allowed', () => {
    const patch = [{ op: 'add' as const, path: '/metadata/labels', value: { a: 'b' } }];
    const response = patched(UID, patch);
    expect(response.patchType).toBe('JSONPatch');
    expect(decodePatch(reviewOf('admission.k8s.io/v1', response))).toEqual(patch);
    expect(patched(UID, [])).toEqual({ uid: UID, allowed: true });
  });

  it('withWarnings keeps each warning once, in order, and leaves the field out when there are none', () => {
    expect(withWarnings(allowed(UID), [])).toEqual({ uid: UID, allowed: true });
    expect(withWarnings(withWarnings(allowed(UID), ['b', 'a']), ['a', 'c']).warnings).toEqual([
      'b',
      'a',
      'c',
    ]);
  });

  it('withAudit adds annotations without touching the decision, and none leaves the field out', () => {
    expect(withAudit(denied(UID, 'no'), {})).not.toHaveProperty('auditAnnotations');
    const audited = withAudit(denied(UID, 'no'), { 'weight-shift': 'step of 40 points' });
    expect(audited.allowed).toBe(false);
    expect(audited.auditAnnotations).toEqual({ 'weight-shift': 'step of 40 points' });
  });

  it('reviewOf answers in the version asked and failureStatus is a metav1 Status', () => {
    expect(reviewOf('admission.k8s.io/v1beta1', allowed(UID))).toEqual({
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: UID, allowed: true },
    });
    expect(failureStatus(413, 'RequestEntityTooLarge', 'too big')).toEqual({
      apiVersion: 'v1',
      kind: 'Status',
      status: 'Failure',
      code: 413,
      reason: 'RequestEntityTooLarge',
      message: 'too big',
    });
  });
});
