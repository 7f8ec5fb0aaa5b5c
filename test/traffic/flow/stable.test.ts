import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatStable, parseStable } from '../../../src/traffic/flow/stable.js';

/** What the annotation was before it was written by hand: an object of the sorted entries. */
function reference(map: ReadonlyMap<string, string>): string {
  return JSON.stringify(
    Object.fromEntries([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  );
}

const keys = fc.oneof(
  fc.string(),
  fc.constantFrom('reviews.shop.svc.cluster.local', '0', '7', '10', '01', '4294967295', '"', '\\'),
);

describe('the stable-backends annotation text', () => {
  it('is {} for no roots, and one member for one', () => {
    expect(formatStable(new Map())).toBe('{}');
    expect(formatStable(new Map([['a.shop.svc.cluster.local', 'a-v1#x']]))).toBe(
      '{"a.shop.svc.cluster.local":"a-v1#x"}',
    );
  });

  it('is what the sorted entries serialize to as an object, and reads back as written', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keys, fc.string()), { maxLength: 6 }), (entries) => {
        const map = new Map(entries);
        const text = formatStable(map);
        expect(text).toBe(reference(map));
        expect(parseStable(text)).toEqual(new Map(Object.entries(JSON.parse(text) as object)));
      }),
    );
  });
});
