import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cloneJson, jsonEqual } from '../../src/util/json.js';

describe('cloneJson', () => {
  it('copies JSON deeply: equal, and sharing no object with the source', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const copy = cloneJson(value);
        expect(copy).toEqual(value);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
        const shared = (a: unknown, b: unknown): boolean =>
          typeof a === 'object' &&
          a !== null &&
          (a === b || Object.keys(a).some((k) => shared((a as never)[k], (b as never)[k])));
        expect(shared(copy, value)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a __proto__ key as an own property, as JSON.parse makes it', () => {
    const parsed = JSON.parse('{"metadata":{"__proto__":{"polluted":true},"name":"x"}}') as {
      metadata: Record<string, unknown>;
    };
    const copy = cloneJson(parsed);
    expect(Object.hasOwn(copy.metadata, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(copy.metadata)).toBe(Object.prototype);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(parsed));
  });
});

describe('jsonEqual', () => {
  it('agrees with comparing JSON text of values built alike', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (a, b) => {
        expect(jsonEqual(a, cloneJson(a))).toBe(true);
        if (jsonEqual(a, b)) expect(a).toEqual(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('treats keys holding undefined as absent and tells arrays from objects', () => {
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ 0: 'x' }, ['x'])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
