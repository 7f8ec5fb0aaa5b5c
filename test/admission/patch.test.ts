import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { describe, expect, it } from 'vitest';
import { diffAndVerify, encodePatch } from '../../src/admission/patch.js';

describe('diffAndVerify', () => {
  it('produces a patch that turns any JSON object into any other', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const obj = fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 6 });
    fc.assert(
      fc.property(obj, obj, (a, b) => {
        const result = diffAndVerify(a, b);
        expect(result.ok).toBe(true);
        const target = structuredClone(a);
        applyPatch(target, result.patch);
        expect(target).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('escapes / and ~ in keys (RFC 6901)', () => {
    const result = diffAndVerify(
      { metadata: { labels: {} } },
      { metadata: { labels: { 'a/b~c': 'x' } } },
    );
    expect(result.patch).toEqual([{ op: 'add', path: '/metadata/labels/a~1b~0c', value: 'x' }]);
  });

  it('encodes as base64 of a JSON array', () => {
    expect(
      JSON.parse(Buffer.from(encodePatch([{ op: 'remove', path: '/x' }]), 'base64').toString()),
    ).toEqual([{ op: 'remove', path: '/x' }]);
  });
});
