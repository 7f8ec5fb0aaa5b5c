/**
 * Whether two items share a key. Pair by pair for short lists (most routes have two or three
 * backends, and a set cost more than the comparisons), a set past that.
 */
export function hasRepeat<T>(items: readonly T[], keyOf: (item: T) => string): boolean {
  if (items.length > 8) return new Set(items.map(keyOf)).size !== items.length;
  for (let i = 1; i < items.length; i++) {
    const key = keyOf(items[i]!);
    for (let j = 0; j < i; j++) if (keyOf(items[j]!) === key) return true;
  }
  return false;
}
