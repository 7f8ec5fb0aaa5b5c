import { encodePatch, type JsonPatch } from './patch.js';
import type { AdmissionApiVersion, AdmissionResponse, AdmissionReview } from './types.js';

/**
 * Constructors for admission answers, after controller-runtime's
 * pkg/webhook/admission/response.go: every answer the server or the CLI gives is built here, so
 * its shape (a refusal's status, an empty patch left out, no empty lists) is decided once.
 */

/** A `metav1.Status` of failure, as kube-apiserver writes one. */
export interface FailureStatus {
  readonly apiVersion: 'v1';
  readonly kind: 'Status';
  readonly status: 'Failure';
  readonly code: number;
  readonly reason: string;
  readonly message: string;
}

/** The body of a request refused before review (HTTP 4xx/5xx): never an AdmissionReview. */
export function failureStatus(code: number, reason: string, message: string): FailureStatus {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}

export function allowed(uid: string): AdmissionResponse {
  return { uid, allowed: true };
}

/** Not allowed, with a status the API server shows the user (code, reason, message). */
export function errored(
  uid: string,
  code: number,
  reason: string,
  message: string,
): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason, message } };
}

/** A policy refusal: 403 Forbidden with the message kubectl prints. */
export function denied(uid: string, message: string): AdmissionResponse {
  return errored(uid, 403, 'Forbidden', message);
}

/** Allowed with a JSONPatch; with nothing to change, plain allowed (no patch, no patchType). */
export function patched(uid: string, patch: JsonPatch): AdmissionResponse {
  if (patch.length === 0) return allowed(uid);
  return { uid, allowed: true, patchType: 'JSONPatch', patch: encodePatch(patch) };
}

/** Adds warnings, each once and in order; none leaves the field out. */
export function withWarnings(
  response: AdmissionResponse,
  warnings: readonly string[],
): AdmissionResponse {
  if (warnings.length === 0) return response;
  return { ...response, warnings: [...new Set([...(response.warnings ?? []), ...warnings])] };
}

/** Adds audit annotations (rule name → text); none leaves the field out. */
export function withAudit(
  response: AdmissionResponse,
  audit: Readonly<Record<string, string>>,
): AdmissionResponse {
  if (Object.keys(audit).length === 0) return response;
  return { ...response, auditAnnotations: { ...response.auditAnnotations, ...audit } };
}

/** The AdmissionReview carrying a response, in the version the request came in. */
export function reviewOf(
  apiVersion: AdmissionApiVersion,
  response: AdmissionResponse,
): AdmissionReview {
  return { apiVersion, kind: 'AdmissionReview', response };
}
