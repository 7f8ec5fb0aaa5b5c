/**
 * Weights that reach the same targets in steps the policy allows: every rise from the previous
 * weight (from 0 at the start) is split into rises of at most `maxStep`. Falls are kept as they are.
 */
export function stepsThatPass(weights: readonly number[], maxStep: number): number[] {
  const out: number[] = [];
  let previous = 0;
  for (const w of weights) {
    while (w - previous > maxStep) {
      previous += maxStep;
      out.push(previous);
    }
    out.push(w);
    previous = w;
  }
  return out;
}

/** The rises between consecutive weights, from 0, that exceed `maxStep`. */
export function oversizedRises(
  weights: readonly number[],
  maxStep: number,
): { from: number; to: number; index: number }[] {
  const out: { from: number; to: number; index: number }[] = [];
  let previous = 0;
  weights.forEach((w, index) => {
    if (w - previous > maxStep) out.push({ from: previous, to: w, index });
    previous = w;
  });
  return out;
}

/** `20, 40, 50` with at most two decimals. */
export function formatWeights(weights: readonly number[]): string {
  return weights.map((w) => `${Math.round(w * 100) / 100}`).join(', ');
}
