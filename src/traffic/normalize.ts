/**
 * Normalization of raw weights onto the totals each mesh wants: largest-remainder (Hamilton)
 * apportionment of the exact shares. Zero stays zero; ties go to the larger raw weight, then to
 * the earlier backend, so the same input always gives the same output.
 */

/**
 * Apportions `total` in proportion to `weights` (non-negative, not all zero). The result sums to
 * exactly `total`, a zero weight always gets zero, and no result is off its exact share by a
 * whole unit or more.
 */
export function apportion(weights: readonly bigint[], total: bigint): bigint[] {
  if (total < 0n) throw new RangeError('target total is negative');
  let sum = 0n;
  for (const w of weights) {
    if (w < 0n) throw new RangeError('negative weight');
    sum += w;
  }
  if (sum === 0n) throw new RangeError('every weight is zero');
  const out: bigint[] = [];
  const remainders: bigint[] = [];
  let given = 0n;
  for (const w of weights) {
    const scaled = w * total;
    const floor = scaled / sum;
    out.push(floor);
    remainders.push(scaled % sum);
    given += floor;
  }
  let left = total - given;
  // Only backends with a fractional part can be short of their share; zero weights never are.
  const order = weights
    .map((w, i) => i)
    .filter((i) => (remainders[i] ?? 0n) > 0n)
    .sort((a, b) => {
      const ra = remainders[a] ?? 0n;
      const rb = remainders[b] ?? 0n;
      if (ra !== rb) return ra > rb ? -1 : 1;
      const wa = weights[a] ?? 0n;
      const wb = weights[b] ?? 0n;
      if (wa !== wb) return wa > wb ? -1 : 1;
      return a - b;
    });
  for (const i of order) {
    if (left === 0n) break;
    out[i] = (out[i] ?? 0n) + 1n;
    left -= 1n;
  }
  return out;
}

export interface Normalized {
  /** One value per backend, in order. */
  readonly weights: readonly number[];
  /** Indexes of backends whose weight was above zero but rounds to zero at this scale. */
  readonly roundedToZero: readonly number[];
}

/** Whole percentages summing to 100 (Istio, App Mesh, Gloo, HTTPRoute). */
export function toPercent(weights: readonly bigint[]): Normalized {
  const out = apportion(weights, 100n);
  return { weights: out.map(Number), roundedToZero: zeroed(weights, out) };
}

/**
 * Consul ServiceSplitter weights: percentages with two decimals (basis points / 100), kept only if
 * consul-k8s's own check passes: each weight is 0 or within [0.01, 100], and their float32 sum is
 * exactly 100. Otherwise whole percentages, which always pass.
 */
export function toConsulPercent(
  weights: readonly bigint[],
): Normalized & { readonly basisPoints: boolean } {
  const bp = apportion(weights, 10_000n);
  const decimal = bp.map((b) => Number(b) / 100);
  if (passesConsulCheck(decimal)) {
    return { weights: decimal, roundedToZero: zeroed(weights, bp), basisPoints: true };
  }
  return { ...toPercent(weights), basisPoints: false };
}

/** consul-k8s's ServiceSplitter webhook check, in float32 as Go computes it. */
export function passesConsulCheck(weights: readonly number[]): boolean {
  const min = Math.fround(0.01);
  let sum = Math.fround(0);
  for (const w of weights) {
    const f = Math.fround(w);
    if (f !== 0 && (f > 100 || f < min)) return false;
    sum = Math.fround(sum + f);
  }
  return sum === 100;
}

function zeroed(raw: readonly bigint[], out: readonly bigint[]): number[] {
  const indexes: number[] = [];
  raw.forEach((w, i) => {
    if (w > 0n && out[i] === 0n) indexes.push(i);
  });
  return indexes;
}

/**
 * Relative whole-number weights, each at most `max` (HTTPRoute backendRefs: 0 to 1,000,000),
 * keeping the exact proportions whenever that fits: whole percentages when they are exact (a
 * 90/10 split reads as 90 and 10), otherwise the raw weights divided by their common factor
 * (1 against 500 stays 1 and 500). Only raw weights too large for `max` are scaled, and then a
 * non-zero weight is kept at 1 at least, so it never vanishes; `approximated` says so.
 */
export function toRelative(
  weights: readonly bigint[],
  max: bigint,
): Normalized & { readonly approximated: boolean } {
  const percent = apportion(weights, 100n);
  let sum = 0n;
  for (const w of weights) sum += w;
  const exactPercent = weights.every((w, i) => w * 100n === (percent[i] ?? 0n) * sum);
  if (exactPercent && 100n <= max)
    return { weights: percent.map(Number), roundedToZero: [], approximated: false };
  let g = 0n;
  for (const w of weights) g = gcd(g, w);
  const reduced = weights.map((w) => w / (g === 0n ? 1n : g));
  let largest = 0n;
  for (const w of reduced) if (w > largest) largest = w;
  if (largest <= max)
    return { weights: reduced.map(Number), roundedToZero: [], approximated: false };
  // Scale so the largest weight is `max`; keep every non-zero weight at 1 or more.
  const scaled = reduced.map((w) => {
    if (w === 0n) return 0n;
    const s = (w * max + largest / 2n) / largest;
    return s === 0n ? 1n : s;
  });
  return { weights: scaled.map(Number), roundedToZero: [], approximated: true };
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
