import { describe, expect, it } from 'vitest';
import {
  countWork,
  DEFAULT_WORK_LIMITS,
  provablyWithinLimits,
  workProblem,
} from '../../src/server/limits.js';

describe('countWork', () => {
  it("counts Knative's traffic entries and percents as routes and backends", () => {
    const service = {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      spec: {
        traffic: Array.from({ length: 1001 }, (_, i) => ({ revisionName: `r-${i}`, percent: 0 })),
      },
    };
    const count = countWork(service, 5000);
    expect(count).toEqual({ backends: 1001, routes: 1001 });
    expect(workProblem(count, DEFAULT_WORK_LIMITS)).toContain('more than 1000 weighted backends');
  });

  it('stops counting past stopAt', () => {
    const split = {
      spec: { backends: Array.from({ length: 50_000 }, () => ({ service: 's', weight: 1 })) },
    };
    expect(countWork(split, 10).backends).toBeLessThanOrEqual(11 + 1);
  });
});

describe('provablyWithinLimits', () => {
  const limits = { maxBackends: 3, maxRoutes: 3 };
  const text = (object: unknown) => JSON.stringify({ request: { object } });

  it('proves a Deployment whose ports and values merely say "http" or "weight"', () => {
    const object = {
      metadata: { labels: { weight: 'heavy' }, annotations: { note: '"http": and "rules":' } },
      spec: {
        template: { spec: { containers: [{ ports: [{ name: 'http' }, { name: 'tls' }] }] } },
      },
    };
    expect(provablyWithinLimits(text(object), limits)).toBe(true);
    expect(countWork(object, 10)).toEqual({ backends: 0, routes: 0 });
  });

  it('proves up to maxBackends weight keys, and no more', () => {
    const split = (n: number) => ({
      spec: { backends: Array.from({ length: n }, (_, i) => ({ service: `s${i}`, weight: 1 })) },
    });
    expect(provablyWithinLimits(text(split(3)), limits)).toBe(true);
    expect(provablyWithinLimits(text(split(4)), limits)).toBe(false);
  });

  it('proves nothing for an object with any route list, or spaced keys', () => {
    for (const key of ['http', 'tcp', 'tls', 'rules', 'routes', 'traffic'])
      expect(provablyWithinLimits(text({ spec: { [key]: [] } }), limits)).toBe(false);
    expect(provablyWithinLimits('{"spec":{"rules" :[]}}', limits)).toBe(false);
    // Whitespace before the colon still makes a key: both are counted.
    const spaced = '{"spec":{"a":{"percent"\n :1},"b":{"weight":1}}}';
    expect(countWork(JSON.parse(spaced), 10).backends).toBe(2);
    expect(provablyWithinLimits(spaced, { maxBackends: 1, maxRoutes: 1 })).toBe(false);
    expect(provablyWithinLimits(spaced, { maxBackends: 2, maxRoutes: 1 })).toBe(true);
  });

  it('proves nothing when an escape could spell a key in disguise', () => {
    // "\u0077eight" is "weight" once parsed: countWork counts it, so the text must not pass.
    const disguised = '{"spec":{"backends":[{"\\u0077eight":1}]}}';
    expect(countWork(JSON.parse(disguised), 10).backends).toBe(1);
    expect(provablyWithinLimits(disguised, { maxBackends: 0, maxRoutes: 0 })).toBe(false);
    // An escaped "<" (Go's encoder writes them) spells no key.
    expect(provablyWithinLimits('{"spec":{"a":"\\u003cb\\u003e"}}', limits)).toBe(true);
  });
});
