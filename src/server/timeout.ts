/** Margin kept for writing the response and the network: the answer must reach the API server. */
const SAFETY_MS = 250;
const DEFAULT_TIMEOUT_MS = 10_000;
/** The API server allows webhook timeouts of 1 to 30 s; anything longer is not from it. */
const MAX_TIMEOUT_MS = 30_000;

/**
 * The time the rules may take, from the `?timeout=Ns` the API server appends (its remaining
 * deadline, rounded up to whole seconds). Without one, the API server default of 10 s applies.
 */
export function ruleBudgetMs(timeoutParam: unknown): number {
  // The API server sends the same value on nearly every review: the last one is kept.
  if (timeoutParam === lastParam && lastParam !== undefined) return lastBudget;
  // Clamped: a budget past setTimeout's 32-bit limit would fire at once and fail every review.
  const total = Math.min(parseDuration(timeoutParam) ?? DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS);
  const budget = Math.max(50, Math.min(total - SAFETY_MS, total * 0.8));
  if (typeof timeoutParam === 'string' && timeoutParam.length <= 16) {
    lastParam = timeoutParam;
    lastBudget = budget;
  }
  return budget;
}

let lastParam: string | undefined;
let lastBudget = 0;

/** Parses Go-style durations as the API server writes them: `10s`, `500ms`, `1m`. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2];
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
  return ms > 0 ? ms : undefined;
}
