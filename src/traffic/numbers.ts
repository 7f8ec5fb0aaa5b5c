/** Exact readings of the numbers route objects carry: quantities, whole numbers, decimals. */

export type NumberReading =
  { readonly ok: true; readonly value: bigint } | { readonly ok: false; readonly reason: string };

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
/** MilliValue saturates at int64; anything above is certainly a mistake. */
const MAX_MILLI = (1n << 63n) - 1n;

/**
 * A Kubernetes quantity (string or number) in milli units, as `resource.Quantity.MilliValue()`
 * reads it: `1` is 1000, `500m` is 500, and a fraction of a milli rounds up (`1u` is 1).
 */
export function quantityMilli(raw: unknown): NumberReading {
  let text: string;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false, reason: `${raw}, which is not a quantity` };
    text = numberText(raw);
  } else if (typeof raw === 'string') {
    text = raw.trim();
  } else {
    return { ok: false, reason: `${describe(raw)}, which is not a quantity` };
  }
  const shown = typeof raw === 'number' ? text : `"${text}"`;
  const m = QUANTITY.exec(text);
  if (!m) return { ok: false, reason: `${shown}, which is not a quantity` };
  const [, sign = '', digits = '', suffix = ''] = m;
  const dot = digits.indexOf('.');
  const intPart = dot === -1 ? digits : digits.slice(0, dot);
  const fracPart = dot === -1 ? '' : digits.slice(dot + 1);
  let num = BigInt(`${intPart}${fracPart}` || '0');
  let den = 10n ** BigInt(fracPart.length);
  if (suffix in BINARY) num *= BINARY[suffix] ?? 1n;
  else {
    // A bare `E` is exa; `e`/`E` followed by digits is an exponent.
    const exp = /^[eE].+/.test(suffix) ? Number(suffix.slice(1)) : (DECIMAL[suffix] ?? 0);
    if (Math.abs(exp) > 40) return { ok: false, reason: `${shown}, which is out of range` };
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  if (sign === '-' && num !== 0n) return { ok: false, reason: `${shown}, which is negative` };
  const milli = (num * 1000n + den - 1n) / den;
  if (milli > MAX_MILLI) return { ok: false, reason: `${shown}, which is out of range` };
  return { ok: true, value: milli };
}

/** A whole number of 0 or more, given as a JSON number. */
export function wholeNumber(raw: unknown): NumberReading {
  if (typeof raw !== 'number' || !Number.isFinite(raw))
    return { ok: false, reason: `${describe(raw)}, which is not a whole number` };
  if (raw < 0) return { ok: false, reason: `${numberText(raw)}, which is negative` };
  if (!Number.isInteger(raw))
    return { ok: false, reason: `${numberText(raw)}, which is not a whole number` };
  if (!Number.isSafeInteger(raw))
    return { ok: false, reason: `${numberText(raw)}, which is out of range` };
  return { ok: true, value: bigIntOf(raw) };
}

/**
 * A non-negative decimal number exactly as written (its shortest decimal form), as
 * `digits / 10^scale`. `33.33` gives 3333 and scale 2.
 */
export function decimalNumber(
  raw: unknown,
): { ok: true; digits: bigint; scale: number } | { ok: false; reason: string } {
  if (typeof raw !== 'number' || !Number.isFinite(raw))
    return { ok: false, reason: `${describe(raw)}, which is not a number` };
  if (raw < 0) return { ok: false, reason: `${numberText(raw)}, which is negative` };
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(raw));
  if (!m) return { ok: false, reason: `${String(raw)}, which is not a number` };
  const [, intPart = '0', fracPart = '', expText = '0'] = m;
  let digits = BigInt(`${intPart}${fracPart}`);
  let scale = fracPart.length - Number(expText);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { ok: true, digits, scale };
}

/** Shortest decimal text of a number, without exponent for ordinary magnitudes. */
export function numberText(value: number): string {
  return String(value);
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value}" (a string)`;
  if (typeof value === 'number') return numberText(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return typeof value === 'boolean' ? String(value) : typeof value;
}

/** Bigints of the small whole numbers weights are written with, made once. */
const SMALL_BIGINTS = Array.from({ length: 1025 }, (_, i) => BigInt(i));

/**
 * `BigInt(n)` for a safe non-negative integer, without a new bigint for the common small ones:
 * converting was most of what turning a 50-backend split's weights into shares cost.
 */
export function bigIntOf(n: number): bigint {
  return n <= 1024 ? (SMALL_BIGINTS[n] ?? BigInt(n)) : BigInt(n);
}
