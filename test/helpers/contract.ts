import { applyPatch } from 'rfc6902';

/**
 * A TypeScript port of what kube-apiserver checks on a webhook response
 * (`VerifyAdmissionResponse` in k8s.io/apiserver request/admissionreview.go, and the mutating
 * dispatcher's patch handling). Returns the list of problems; empty means the API server would
 * accept the response.
 */
export function contractProblems(
  request: { apiVersion: string; request: { uid: string; object: unknown; operation: string } },
  response: unknown,
  endpoint: 'mutate' | 'validate',
): string[] {
  const problems: string[] = [];
  if (typeof response !== 'object' || response === null) return ['response body is not an object'];
  const review = response as Record<string, unknown>;
  if (review.apiVersion !== request.apiVersion)
    problems.push(`apiVersion ${String(review.apiVersion)} != ${request.apiVersion}`);
  if (review.kind !== 'AdmissionReview') problems.push('kind is not AdmissionReview');
  if ('request' in review) problems.push('the request must not be echoed back');
  const r = review.response as Record<string, unknown> | undefined;
  if (typeof r !== 'object' || r === null) return [...problems, 'response is absent'];
  if (r.uid !== request.request.uid) problems.push(`response.uid ${String(r.uid)} != request.uid`);
  if (typeof r.allowed !== 'boolean') problems.push('response.allowed is not a boolean');
  if (r.allowed === false) {
    const status = r.status as Record<string, unknown> | undefined;
    if (!status || typeof status.message !== 'string' || status.message === '')
      problems.push('a denial has no status.message');
    if (status && (typeof status.code !== 'number' || status.code < 400 || status.code > 499))
      problems.push(`denial status.code ${String(status.code)} is not 4xx`);
  }
  const hasPatch = r.patch !== undefined;
  const hasType = r.patchType !== undefined;
  if (hasPatch !== hasType) problems.push('patch and patchType must come together');
  if (hasType && r.patchType !== 'JSONPatch')
    problems.push(`patchType ${String(r.patchType)} is not JSONPatch`);
  if (endpoint === 'validate' && (hasPatch || hasType))
    problems.push('a validating webhook may not return a patch');
  if (hasPatch) {
    if (request.request.object === null || request.request.object === undefined)
      problems.push('patch sent without an object (DELETE/CONNECT)');
    if (r.allowed !== true) problems.push('patch on a denial');
    if (typeof r.patch !== 'string') problems.push('patch is not a base64 string');
    else {
      let ops: unknown;
      try {
        ops = JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8'));
      } catch {
        problems.push('patch is not base64 of JSON');
      }
      if (ops !== undefined) {
        if (!Array.isArray(ops) || ops.length === 0)
          problems.push('patch is not a non-empty JSON array');
        else {
          const target = structuredClone(request.request.object);
          const errors = applyPatch(target, ops);
          const failed = errors.find((e) => e !== null);
          if (failed) problems.push(`patch does not apply strictly: ${failed.message}`);
        }
      }
    }
  }
  const warnings = r.warnings;
  if (warnings !== undefined) {
    if (!Array.isArray(warnings)) problems.push('warnings is not an array');
    else
      for (const w of warnings)
        if (typeof w !== 'string' || w.length === 0 || w.length > 120)
          problems.push(`warning over 120 characters or empty: ${String(w)}`);
  }
  const audit = r.auditAnnotations;
  if (audit !== undefined) {
    for (const key of Object.keys(audit as object)) {
      // The API server prefixes `<webhook name>/`; the key itself must be a qualified name part.
      if (!/^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/.test(key) || key.length > 63)
        problems.push(`audit annotation key ${key} is not a valid name`);
    }
  }
  return problems;
}

/** Decodes the patch of a response, or [] when there is none. */
export function decodePatch(response: unknown): unknown[] {
  const patch = (response as { response?: { patch?: string } }).response?.patch;
  return patch === undefined
    ? []
    : (JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as unknown[]);
}
