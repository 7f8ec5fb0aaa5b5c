import { describe, expect, it } from 'vitest';
import { parseDuration, ruleBudgetMs } from '../../src/server/timeout.js';

describe('ruleBudgetMs', () => {
  it('leaves a margin below the deadline the API server sends', () => {
    expect(ruleBudgetMs('10s')).toBe(8000);
    expect(ruleBudgetMs('1s')).toBe(750);
    expect(ruleBudgetMs('500ms')).toBe(250);
  });

  it('uses the API server default of 10 s without a usable value', () => {
    for (const value of [undefined, '', 'abc', '-1s', '0s', ['1s', '2s'], 5])
      expect(ruleBudgetMs(value)).toBe(8000);
  });

  it('never exceeds the 30 s the API server allows (a longer timer would fire at once)', () => {
    for (const value of ['9999999s', '600m', '31s']) expect(ruleBudgetMs(value)).toBe(24_000);
  });

  it('answers each value for itself when they alternate (the last one is kept)', () => {
    for (let i = 0; i < 3; i++) {
      expect(ruleBudgetMs('10s')).toBe(8000);
      expect(ruleBudgetMs('1s')).toBe(750);
      expect(ruleBudgetMs(undefined)).toBe(8000);
      expect(ruleBudgetMs('500ms')).toBe(250);
    }
  });

  it('keeps a floor for the tiniest deadlines', () => {
    expect(ruleBudgetMs('10ms')).toBe(50);
  });
});

describe('parseDuration', () => {
  it('reads Go-style durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBeUndefined();
  });
});
