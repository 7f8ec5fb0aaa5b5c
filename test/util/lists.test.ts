import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasRepeat } from '../../src/util/lists.js';

describe('hasRepeat', () => {
  it('finds two items with one key, in short lists (pair by pair) and long ones (a set)', () => {
    const self = (s: string) => s;
    expect(hasRepeat([], self)).toBe(false);
    expect(hasRepeat(['a'], self)).toBe(false);
    expect(hasRepeat(['a', 'b', 'a'], self)).toBe(true);
    expect(hasRepeat([{ n: 'x' }, { n: 'y' }], (o) => o.n)).toBe(false);
    const long = Array.from({ length: 12 }, (_, i) => `k${i}`);
    expect(hasRepeat(long, self)).toBe(false);
    expect(hasRepeat([...long, 'k3'], self)).toBe(true);
  });

  it('agrees with a set on any list', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l')),
        (list) => {
          expect(hasRepeat(list, (s) => s)).toBe(new Set(list).size !== list.length);
        },
      ),
    );
  });
});
