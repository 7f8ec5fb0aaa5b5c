/**
 * Logged values come from requests (uid, name, namespace, kind, user) and a client may put
 * megabytes there: every string in a log line is cut to a bounded length, so one review cannot
 * write a multi-megabyte line.
 */
export const MAX_LOGGED_STRING = 256;
/** Arrays in a log line keep at most this many entries. */
const MAX_LOGGED_ITEMS = 20;
const MAX_DEPTH = 4;

export function clipString(value: string, max = MAX_LOGGED_STRING): string {
  return value.length <= max ? value : `${value.slice(0, max)}…(${value.length} chars)`;
}

/** A copy of a log line's fields with long strings cut and long arrays shortened. */
export function clipLogFields(fields: Record<string, unknown>): Record<string, unknown> {
  // Most lines (a review's) hold only short strings and numbers: kept as they are, uncopied.
  return flat(fields) ? fields : (clipValue(fields, 0) as Record<string, unknown>);
}

/** Only short keys and short strings, numbers, booleans or nothing as values: nothing to clip. */
function flat(fields: Record<string, unknown>): boolean {
  for (const key in fields) {
    if (!Object.prototype.hasOwnProperty.call(fields, key)) continue;
    if (key.length > 64) return false;
    const v = fields[key];
    if (typeof v === 'string') {
      if (v.length > MAX_LOGGED_STRING) return false;
    } else if (v !== null && typeof v === 'object') return false;
  }
  return true;
}

function clipValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return clipString(value);
  if (value === null || typeof value !== 'object') return value;
  // Errors are serialised by pino itself; their messages are ours, not the caller's.
  if (value instanceof Error) return value;
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_LOGGED_ITEMS).map((v) => clipValue(v, depth + 1));
    if (value.length > MAX_LOGGED_ITEMS) items.push(`…(${value.length} items)`);
    return items;
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[clipString(key, 64)] = clipValue(v, depth + 1);
  return out;
}
