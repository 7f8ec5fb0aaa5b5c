/**
 * Label values that come from requests, held to a fixed set. A client sending endless made-up
 * paths or codes must not grow the metrics without bound (each label value is a new series).
 */

const ENDPOINT_LABELS: ReadonlySet<string> = new Set(['mutate', 'validate']);
const CODE_LABELS: ReadonlySet<string> = new Set(['400', '408', '413', '415', '500']);

/**
 * The endpoint of a request path. Express matches `/Validate` and `/validate/` as `/validate`,
 * so they are counted as such; anything else is `other`.
 */
export function endpointLabel(path: string): string {
  const name = path.toLowerCase().replace(/^\/+/, '').replace(/\/+$/, '');
  return ENDPOINT_LABELS.has(name) ? name : 'other';
}

/** An HTTP status as a label: the codes meshwarden answers with, or `other`. */
export function codeLabel(status: number): string {
  const code = String(status);
  return CODE_LABELS.has(code) ? code : 'other';
}
